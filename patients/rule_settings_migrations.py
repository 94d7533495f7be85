"""Rule settings reach every database by migration, never by the demo alone.

A migration freezes the values it writes (it must give the same result in five years,
whatever the code defaults say then), so it lists them as plain tuples
``(key, value, unit, status, source)`` and calls one of the two functions below:

- ``seed_rule_settings``: version 1 of each key that has no global row yet;
- ``ship_new_default``: when a code default changes, the next global version of that key,
  effective from the given date (past decisions keep the version they were made under).

``tests/patients/test_rule_settings_migrations.py`` fails when a code default has no
stored row or differs from the stored version in force: write the migration then.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

Row = tuple[str, str, str, str, str]  # key, value, unit, status, source


def seed_rule_settings(apps, rows: Iterable[Row], *, effective_from: date, reason: str) -> int:
    """Write version 1 of every key without a global row; returns how many were added."""
    RuleSetting = apps.get_model("patients", "RuleSetting")
    known = set(RuleSetting.objects.filter(clinic__isnull=True).values_list("key", flat=True))
    fresh = [
        RuleSetting(
            key=key,
            version=1,
            value=Decimal(value),
            unit=unit,
            status=status,
            source=source,
            effective_from=effective_from,
            change_reason=reason,
        )
        for key, value, unit, status, source in rows
        if key not in known
    ]
    RuleSetting.objects.bulk_create(fresh)
    return len(fresh)


def ship_new_default(apps, row: Row, *, effective_from: date, reason: str) -> bool:
    """Add the next global version of a key whose code default changed; False when the
    newest global version already says the same (running it twice adds nothing)."""
    RuleSetting = apps.get_model("patients", "RuleSetting")
    key, value, unit, status, source = row
    newest = RuleSetting.objects.filter(key=key, clinic__isnull=True).order_by("-version").first()
    if newest is not None and (newest.value, newest.unit, newest.status, newest.source) == (
        Decimal(value),
        unit,
        status,
        source,
    ):
        return False
    RuleSetting.objects.create(
        key=key,
        version=newest.version + 1 if newest else 1,
        value=Decimal(value),
        unit=unit,
        status=status,
        source=source,
        effective_from=effective_from,
        change_reason=reason,
    )
    return True
