"""A suggestion's "Based on" line in words: units from the key, groups of inputs spelled out,
no Python structures on screen."""

from therapy.templatetags.therapy_tags import shown_values


def test_a_renal_findings_inputs_read_in_words_with_their_units():
    finding = {
        "values": {
            "crcl_ml_min": "29.9000",
            "on_dialysis": False,
            "suggested_level": {"label": "2.5 mg days 1-28 of 28", "dose_mg": "2.5"},
            "current": {
                "crcl_ml_min": "29.9",
                "age_years": "72",
                "weight_kg": "62.0",
                "creatinine_mg_dl": "1.96",
                "sex_at_birth": "male",
            },
            "cbc_interval_days": 7,
            "not_set": None,
            "nothing": {},
        }
    }
    assert shown_values(finding) == [
        ("CrCl", "29.9 mL/min"),
        ("On dialysis", "no"),
        ("Suggested level", "2.5 mg days 1-28 of 28"),
        (
            "Current",
            "CrCl 29.9 mL/min, age 72 years, weight 62 kg, creatinine 1.96 mg/dL, "
            "sex at birth male",
        ),
        ("CBC interval", "7 days"),
    ]
    assert not any("{" in value or "'" in value for _, value in shown_values(finding))


def test_only_a_number_takes_the_unit_its_key_ends_in():
    finding = {"values": {"held_days": True, "review_days": ["anc_below"], "weight_kg": "70.50"}}
    assert shown_values(finding) == [
        ("Held days", "yes"),
        ("Review days", "ANC below"),
        ("Weight", "70.5 kg"),
    ]


def test_a_count_named_by_its_test_reads_with_the_tests_unit():
    finding = {"values": {"anc": "0.40", "platelets": 150, "age": 72, "ldh_high": True}}
    assert shown_values(finding) == [
        ("ANC", "0.4 10^9/L"),
        ("Platelets", "150 10^9/L"),
        ("Age", "72"),
        ("LDH high", "yes"),
    ]
