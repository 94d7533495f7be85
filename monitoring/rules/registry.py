"""Every rule module's thresholds, for seeding the versioned rule settings."""

from __future__ import annotations

from monitoring.rules import ctcae, flags, imwg, schedule
from patients import lab_catalogue as catalogue
from patients.nursing import rules as nursing_rules
from patients.rulebook import Threshold
from therapy import dosing, eligibility, rems_rules


def all_rule_defaults() -> list[Threshold]:
    modules = [dosing, rems_rules, eligibility, catalogue, ctcae, schedule, imwg, flags]
    modules.append(nursing_rules)  # follow-up calls after a course starts
    seen: dict[str, Threshold] = {}
    for module in modules:
        for threshold in module.DEFAULTS:
            if threshold.key in seen and seen[threshold.key] != threshold:
                raise ValueError(
                    f"Rule setting {threshold.key} is defined twice with different values."
                )
            seen[threshold.key] = threshold
    return list(seen.values())
