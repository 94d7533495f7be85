"""Roles are groups with permissions; this table is the single place they are defined.

Each app's permissions are named here as "app_label.codename". A name that does not exist
is an error (a typo must not silently leave a role without a permission it needs).
"""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission

NURSE = "Nurse"
PHYSICIAN = "Physician"
REMS_ADMINISTRATOR = "REMS administrator"
ANALYST = "Analyst"

_VIEW_PATIENTS = [
    "patients.view_patient",
    "patients.view_diagnosis",
    "patients.view_transplant",
    "patients.view_weightmeasurement",
]
_EDIT_PATIENTS = [
    "patients.add_patient",
    "patients.change_patient",
    "patients.change_diagnosis",
    "patients.add_transplant",
    "patients.change_transplant",
    "patients.add_weightmeasurement",
    "patients.change_weightmeasurement",
]

# Telephone and clinic notes and follow-up calls: the clinical team writes and closes them.
_NURSING = [
    "patients.view_patientnote",
    "patients.add_patientnote",
    "patients.change_patientnote",
    "patients.view_followupcall",
    "patients.change_followupcall",
]

# The lab record: nurses and physicians enter and correct results; REMS administrators read.
_LABS = [
    "patients.view_labresult",
    "patients.add_labresult",
    "patients.change_labresult",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    # Nurses see patients, record weights and (monitoring) enter and correct labs.
    NURSE: [
        *_VIEW_PATIENTS,
        "patients.add_weightmeasurement",
        "patients.change_weightmeasurement",
        *_NURSING,
        *_LABS,
    ],
    # Physicians: everything clinical.
    PHYSICIAN: [*_VIEW_PATIENTS, *_EDIT_PATIENTS, *_NURSING, *_LABS],
    # REMS administrators: REMS records; demographics read-only, no lab or dose changes.
    REMS_ADMINISTRATOR: [
        "patients.view_patient",
        "patients.view_diagnosis",
        "patients.view_labresult",
    ],
    # Analysts: read-only aggregates of their clinics (the Cohort page); no patient record.
    ANALYST: [],
}

EXTRA_ROLE_PERMISSIONS: dict[str, list[str]] = {}


def register_role_permissions(role: str, permissions: list[str]) -> None:
    """Apps that depend on patients add their permissions to roles from their AppConfig."""
    EXTRA_ROLE_PERMISSIONS.setdefault(role, [])
    for name in permissions:
        if name not in EXTRA_ROLE_PERMISSIONS[role]:
            EXTRA_ROLE_PERMISSIONS[role].append(name)


def permissions_for(role: str) -> list[str]:
    return [*ROLE_PERMISSIONS[role], *EXTRA_ROLE_PERMISSIONS.get(role, [])]


def ensure_roles() -> dict[str, Group]:
    """Create or update the role groups so they hold exactly the permissions in the table."""
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    groups = {}
    for role in ROLE_PERMISSIONS:
        group, _ = Group.objects.get_or_create(name=role)
        wanted = permissions_for(role)
        found = []
        for name in wanted:
            app_label, codename = name.split(".", 1)
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is None:
                raise LookupError(f"Role {role!r} names permission {name!r}, which does not exist.")
            found.append(perm)
        group.permissions.set(found)
        groups[role] = group
    return groups


def ensure_roles_after_migrate(**kwargs) -> None:
    ensure_roles()
