"""patients/rulebook.py, mutation round: the basis line a clinician reads under a flag, a
finding and a threshold as JSON (every kind of value the rules store), the thresholds in
force and the registry of known rule setting keys. Expected texts typed by hand.

(In tests/monitoring/rules so that ``make mutate`` runs it with the rule tests.)"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from patients import rulebook
from patients.rulebook import (
    Finding,
    Threshold,
    finding_json,
    in_force,
    jsonable,
    known_rule_defaults,
    register_rule_defaults,
    threshold_json,
    thresholds_by_key,
)

ANC = Threshold(
    key="flags.anc.hold_below",
    value=Decimal("1.0000000000"),
    unit="x10^9/L",
    status="label",
    source="PI sec. 2.3",
    version=3,
)
PLT = Threshold(
    key="flags.plt.hold_below",
    value=Decimal("30"),
    unit="x10^9/L",
    status="label",
    source="PI sec. 2.3",
)


def test_a_threshold_cites_key_value_unit_status_source_and_version():
    assert ANC.cite() == "flags.anc.hold_below = 1 x10^9/L (label: PI sec. 2.3, v3)"
    assert PLT.cite() == "flags.plt.hold_below = 30 x10^9/L (label: PI sec. 2.3, v1)"


def test_the_basis_joins_source_and_thresholds():
    both = Finding(rule_id="r", outcome="o", message="m", thresholds=(ANC, PLT), source="PI")
    assert both.basis == (
        "PI — flags.anc.hold_below = 1 x10^9/L (label: PI sec. 2.3, v3); "
        "flags.plt.hold_below = 30 x10^9/L (label: PI sec. 2.3, v1)"
    )
    assert Finding(rule_id="r", outcome="o", message="m", source="PI").basis == "PI"
    only = Finding(rule_id="r", outcome="o", message="m", thresholds=(PLT,))
    assert only.basis == "flags.plt.hold_below = 30 x10^9/L (label: PI sec. 2.3, v1)"
    assert Finding(rule_id="r", outcome="o", message="m").basis == ""
    assert Finding(rule_id="r", outcome="o", message="m").values == {}


def test_a_finding_as_json_keeps_everything_a_clinician_checks():
    finding = Finding(
        rule_id="flags.cytopenia",
        outcome="hold",
        message="ANC below 1.0",
        values={"anc": Decimal("0.80")},
        thresholds=(ANC,),
        source="PI",
    )
    assert finding_json(finding) == {
        "rule_id": "flags.cytopenia",
        "outcome": "hold",
        "message": "ANC below 1.0",
        "values": {"anc": "0.8"},
        "thresholds": [
            {
                "key": "flags.anc.hold_below",
                "value": "1",
                "unit": "x10^9/L",
                "status": "label",
                "source": "PI sec. 2.3",
                "version": 3,
            }
        ],
        "source": "PI",
        "basis": "PI — flags.anc.hold_below = 1 x10^9/L (label: PI sec. 2.3, v3)",
    }
    assert threshold_json(PLT)["version"] == 1


@dataclass
class Pair:
    low: Decimal
    on: date


class Level:
    def as_json(self):
        return {"label": "10 mg"}


class Opaque:
    def __str__(self):
        return "opaque"


def test_every_kind_of_value_becomes_plain_json():
    assert jsonable(ANC) == threshold_json(ANC)
    assert jsonable(Level()) == {"label": "10 mg"}
    assert jsonable(Decimal("100")) == "100"  # not "1E+2"
    assert jsonable(Decimal("0.4000")) == "0.4"
    assert jsonable(datetime(2025, 1, 2, 8, 30)) == "2025-01-02T08:30:00"
    assert jsonable(date(2025, 1, 2)) == "2025-01-02"
    assert jsonable({1: Decimal("2.50")}) == {"1": "2.5"}
    assert jsonable([Decimal("1.0")]) == ["1"]
    assert jsonable((Decimal("1.0"),)) == ["1"]
    assert jsonable({Decimal("1.0")}) == ["1"]
    assert jsonable(frozenset({Decimal("1.0")})) == ["1"]
    assert jsonable(Pair(Decimal("0.50"), date(2025, 1, 2))) == {
        "low": "0.5",
        "on": "2025-01-02",
    }
    assert jsonable(None) is None
    assert jsonable(True) is True
    assert jsonable(3) == 3
    assert jsonable(1.5) == 1.5
    assert jsonable("text") == "text"
    assert jsonable(Opaque()) == "opaque"


def test_a_class_is_text_not_called_or_taken_apart():
    # A class has ``as_json`` (unbound) and may be a dataclass: it is neither called nor
    # read field by field; it becomes its text.
    assert jsonable(Level) == str(Level)
    assert jsonable(Pair) == str(Pair)


def test_in_force_lays_the_settings_over_the_defaults_key_by_key():
    clinic = Threshold(
        key="flags.plt.hold_below",
        value=Decimal("50"),
        unit="x10^9/L",
        status="common",
        source="clinic",
    )
    assert in_force((ANC, PLT), {clinic.key: clinic}) == {ANC.key: ANC, PLT.key: clinic}
    assert in_force([ANC, PLT]) == {ANC.key: ANC, PLT.key: PLT}
    assert thresholds_by_key((ANC,)) == {"flags.anc.hold_below": ANC}


def test_a_rule_module_registers_its_defaults_once():
    saved = list(rulebook._KNOWN_KEY_SOURCES)
    try:
        rulebook._KNOWN_KEY_SOURCES.clear()

        def source():
            return (ANC, PLT)

        register_rule_defaults(source)
        register_rule_defaults(source)
        assert len(rulebook._KNOWN_KEY_SOURCES) == 1
        assert rulebook._KNOWN_KEY_SOURCES[0] is source
        assert known_rule_defaults() == {ANC.key: ANC, PLT.key: PLT}
    finally:
        rulebook._KNOWN_KEY_SOURCES[:] = saved
