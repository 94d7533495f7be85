"""Cytogenetic high-risk status: a pure rule, shown on screen with the finding that made it.

Source: IMWG consensus on high-risk cytogenetics (Sonneveld et al., Blood 2016) and the
R-ISS (Palumbo et al., JCO 2015): del(17p), t(4;14), t(14;16) are high risk in the R-ISS;
IMWG 2016 adds t(14;20), gain/amplification of 1q and del(1p). Tests not done are not
counted as normal: with no abnormality found and any test missing, the status is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

from patients.rulebook import Finding

RULE_ID = "risk.cytogenetics.imwg2016"
SOURCE = "IMWG high-risk cytogenetics (Sonneveld 2016) and R-ISS (Palumbo 2015)"

HIGH_RISK_ABNORMALITIES: tuple[tuple[str, str], ...] = (
    ("del_17p", "del(17p)"),
    ("t_4_14", "t(4;14)"),
    ("t_14_16", "t(14;16)"),
    ("t_14_20", "t(14;20)"),
    ("gain_1q", "gain/amplification 1q"),
    ("del_1p", "del(1p)"),
)


@dataclass(frozen=True)
class Cytogenetics:
    """True = found, False = tested and absent, None = not tested."""

    del_17p: bool | None = None
    t_4_14: bool | None = None
    t_14_16: bool | None = None
    t_14_20: bool | None = None
    gain_1q: bool | None = None
    del_1p: bool | None = None
    riss_stage: str = ""


def cytogenetic_risk(findings: Cytogenetics) -> Finding:
    found = [label for field, label in HIGH_RISK_ABNORMALITIES if getattr(findings, field) is True]
    missing = [
        label for field, label in HIGH_RISK_ABNORMALITIES if getattr(findings, field) is None
    ]
    values = {
        "abnormalities_found": found,
        "not_tested": missing,
        "riss_stage": findings.riss_stage or None,
    }
    if found:
        count = len(found)
        message = f"High risk: {', '.join(found)} found"
        if count >= 2:
            message += f" ({count} high-risk abnormalities: 'double hit')"
        return Finding(RULE_ID, "high", message + ".", values, source=SOURCE)
    if findings.riss_stage == "III":
        return Finding(RULE_ID, "high", "High risk: R-ISS stage III.", values, source=SOURCE)
    if missing:
        return Finding(
            RULE_ID,
            "unknown",
            f"Risk unknown: not tested for {', '.join(missing)}.",
            values,
            source=SOURCE,
        )
    return Finding(
        RULE_ID, "standard", "Standard risk: no high-risk abnormality found.", values, source=SOURCE
    )
