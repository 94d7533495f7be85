from decimal import Decimal

from patients.rulebook import BatchThresholds, Threshold, in_force

DEFAULTS = (
    Threshold("a.one", Decimal("1"), "x", "seed", "doc"),
    Threshold("a.two", Decimal("2"), "x", "seed", "doc"),
)
CLINIC = {
    "a.two": Threshold("a.two", Decimal("3"), "x", "seed", "clinic", version=2),
    "b.other": Threshold("b.other", Decimal("9"), "y", "seed", "doc"),
}


def test_batch_thresholds_lay_over_the_defaults_as_a_plain_table_does():
    batch = BatchThresholds(CLINIC)
    for _ in range(2):  # merged once, then answered from the merge
        table = in_force(DEFAULTS, batch)
        assert table == in_force(DEFAULTS, dict(CLINIC))
        assert list(table) == list(in_force(DEFAULTS, dict(CLINIC)))
        assert table["a.two"].value == Decimal("3") and table["a.one"].value == Decimal("1")
    assert in_force(DEFAULTS[:1], batch) == in_force(DEFAULTS[:1], dict(CLINIC))


def test_each_caller_gets_its_own_copy_of_the_merged_table():
    batch = BatchThresholds(CLINIC)
    in_force(DEFAULTS, batch).pop("a.one")
    assert "a.one" in in_force(DEFAULTS, batch)
