"""What each role may do with therapy and REMS records (added to the roles in ready()).

Physicians start, change, hold and stop courses and decide on dose suggestions; nurses
view; REMS administrators edit REMS records only.
"""

from __future__ import annotations

from patients.roles import NURSE, PHYSICIAN, REMS_ADMINISTRATOR, register_role_permissions

VIEW_COURSE = "therapy.view_maintenancecourse"
MANAGE_COURSE = "therapy.manage_course"
DECIDE_SUGGESTION = "therapy.decide_dosesuggestion"
VIEW_REMS = "therapy.view_remsenrollment"
EDIT_ENROLLMENT = "therapy.change_remsenrollment"
ADD_AUTHORIZATION = "therapy.add_remsauthorization"
CHANGE_AUTHORIZATION = "therapy.change_remsauthorization"
ADD_SURVEY = "therapy.add_remssurvey"

VIEW_ALL = [
    "therapy.view_agent",
    "therapy.view_regimen",
    "therapy.view_regimencomponent",
    VIEW_COURSE,
    "therapy.view_dosechange",
    "therapy.view_hold",
    "therapy.view_dosesuggestion",
    VIEW_REMS,
    "therapy.view_remsauthorization",
    "therapy.view_remssurvey",
]

ROLE_PERMISSIONS = {
    NURSE: VIEW_ALL,
    PHYSICIAN: [
        *VIEW_ALL,
        MANAGE_COURSE,
        "therapy.add_maintenancecourse",
        "therapy.change_maintenancecourse",
        "therapy.add_dosechange",
        "therapy.add_hold",
        "therapy.change_hold",
        DECIDE_SUGGESTION,
        # The regimen catalogue is edited by physicians (and administrators) in Django admin.
        "therapy.add_agent",
        "therapy.change_agent",
        "therapy.add_regimen",
        "therapy.change_regimen",
        "therapy.add_regimencomponent",
        "therapy.change_regimencomponent",
    ],
    REMS_ADMINISTRATOR: [
        *VIEW_ALL,
        "therapy.add_remsenrollment",
        EDIT_ENROLLMENT,
        ADD_AUTHORIZATION,
        CHANGE_AUTHORIZATION,
        ADD_SURVEY,
        "therapy.change_remssurvey",
    ],
}


def register_permissions() -> None:
    for role, permissions in ROLE_PERMISSIONS.items():
        register_role_permissions(role, permissions)
