"""The lab record in the patients app: one nearest weight, one CrCl, one pregnancy-test
history, each read for a whole batch in a fixed number of queries, and the moved
permissions still held by the roles."""

from datetime import date, datetime, time
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from patients.lab_selectors import last_negative_pregnancy_tests, pregnancy_tests
from patients.models import LabResult
from patients.selectors import WeightUsed, weight_history, weight_nearest
from tests.factories import LabResultFactory, PatientFactory, WeightFactory
from therapy.selectors import crcl_with_weight

pytestmark = pytest.mark.django_db


def at(on: date, hour: int = 9, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(on, time(hour, minute)))


def lab(patient, code: str, collected_at: datetime, **values) -> LabResult:
    return LabResultFactory(patient=patient, test_code=code, collected_at=collected_at, **values)


def hcg(patient, collected_at: datetime, result: str = "negative") -> LabResult:
    return lab(
        patient, "HCG_URINE_QUAL", collected_at, qualitative=result, hcg_sensitivity_miu_ml=25
    )


# --- The nearest weight ------------------------------------------------------------------


def test_the_nearest_weight_before_or_after_the_date_wins():
    weights = [
        WeightUsed(Decimal("70"), date(2025, 2, 20)),  # 11 days before
        WeightUsed(Decimal("90"), date(2025, 3, 20)),  # 17 days after
    ]
    assert weight_nearest(weights, date(2025, 3, 3)).weight_kg == Decimal("70")
    assert weight_nearest(weights, date(2025, 3, 10)).weight_kg == Decimal("90")  # 18 vs 10


def test_a_tie_in_days_goes_to_the_earlier_weight_then_to_the_first_entered():
    weights = [
        WeightUsed(Decimal("71"), date(2025, 3, 1)),
        WeightUsed(Decimal("72"), date(2025, 3, 1)),
        WeightUsed(Decimal("80"), date(2025, 3, 5)),
    ]
    assert weight_nearest(weights, date(2025, 3, 3)).weight_kg == Decimal("71")
    assert weight_nearest([], date(2025, 3, 3)) is None


def test_weight_history_reads_a_batch_in_one_query_without_weights_in_error(
    patient, django_assert_num_queries
):
    other = PatientFactory(clinic=patient.clinic)
    WeightFactory(patient=patient, measured_on=date(2025, 3, 1), weight_kg=Decimal("70"))
    WeightFactory(
        patient=patient,
        measured_on=date(2025, 3, 2),
        weight_kg=Decimal("99"),
        entered_in_error_at=at(date(2025, 3, 2)),
    )
    WeightFactory(patient=other, measured_on=date(2025, 1, 1), weight_kg=Decimal("60"))
    with django_assert_num_queries(1):
        history = weight_history([patient.pk, other.pk])
    assert history == {
        patient.pk: [WeightUsed(Decimal("70.0"), date(2025, 3, 1))],
        other.pk: [WeightUsed(Decimal("60.0"), date(2025, 1, 1))],
    }


# --- One CrCl -----------------------------------------------------------------------------


def test_crcl_uses_age_on_the_draw_and_the_weight_nearest_it(patient):
    # Male born 1960-05-17: 64 on 2025-03-03. Cockcroft-Gault (clinical reference):
    # (140 - 64) x 70 / (72 x 1.0) = 73.89 -> 73.9 mL/min.
    weights = [
        WeightUsed(Decimal("70"), date(2025, 2, 20)),
        WeightUsed(Decimal("90"), date(2025, 3, 20)),
    ]
    used = crcl_with_weight(
        patient, creatinine_mg_dl=Decimal("1.0"), collected_at=at(date(2025, 3, 3)), weights=weights
    )
    assert used.crcl_ml_min == Decimal("73.9")
    assert used.weight == WeightUsed(Decimal("70"), date(2025, 2, 20))
    assert used.creatinine_on == date(2025, 3, 3)


def test_crcl_without_a_weight_is_unknown(patient):
    assert (
        crcl_with_weight(
            patient, creatinine_mg_dl=Decimal("1.0"), collected_at=at(date(2025, 3, 3)), weights=[]
        )
        is None
    )


def test_checklist_crcl_names_the_creatinine_and_weight_it_used(patient):
    from patients.lab_selectors import latest_values
    from therapy.selectors import _crcl

    WeightFactory(patient=patient, measured_on=date(2025, 2, 20), weight_kg=Decimal("70"))
    lab(
        patient,
        "CREAT",
        at(date(2025, 3, 3)),
        canonical_value=Decimal("1.0"),
        canonical_unit="mg/dL",
    )
    creatinine = latest_values(patient.pk, ["CREAT"], as_of=date(2025, 3, 10))["CREAT"]
    crcl, on, basis = _crcl(patient, creatinine)
    assert (crcl, on) == (Decimal("73.9"), date(2025, 3, 3))
    assert basis == "creatinine 1 mg/dL on 2025-03-03, weight 70 kg on 2025-02-20"


# --- One pregnancy-test history -------------------------------------------------------------


def test_pregnancy_tests_of_a_batch_in_one_query_from_the_first_minute_of_since(
    clinic_a, django_assert_num_queries
):
    anna, bea = PatientFactory(clinic=clinic_a), PatientFactory(clinic=clinic_a)
    hcg(anna, at(date(2025, 2, 28), 23, 59))  # the day before: out
    first = hcg(anna, at(date(2025, 3, 1), 0, 0))  # the first minute of since: in
    hcg(anna, at(date(2025, 3, 5)), "positive")
    wrong = hcg(anna, at(date(2025, 3, 6)))
    wrong.entered_in_error_at = at(date(2025, 3, 6), 10)
    wrong.save()
    lab(bea, "HCG_URINE_QUAL", at(date(2025, 3, 2)), qualitative="not_done")
    hcg(bea, at(date(2025, 3, 3)))
    hcg(bea, at(date(2025, 3, 11)))  # after as_of: out
    with django_assert_num_queries(1):
        tests = pregnancy_tests([anna.pk, bea.pk], since=date(2025, 3, 1), as_of=date(2025, 3, 10))
    assert [(t.result_id, t.result) for t in tests[anna.pk]] == [
        (first.pk, "negative"),
        (tests[anna.pk][1].result_id, "positive"),
    ]
    assert [t.collected_at for t in tests[bea.pk]] == [at(date(2025, 3, 3))]
    with django_assert_num_queries(1):
        last = last_negative_pregnancy_tests(
            [anna.pk, bea.pk], since=date(2025, 3, 1), as_of=date(2025, 3, 10)
        )
    assert last == {anna.pk: date(2025, 3, 1), bea.pk: date(2025, 3, 3)}


def test_a_quantitative_serum_hcg_reads_with_its_5_miu_detection_limit(patient):
    lab(
        patient,
        "HCG_SERUM_QUANT",
        at(date(2025, 3, 3)),
        qualitative="negative",
        canonical_value=Decimal("2"),
        canonical_unit="mIU/mL",
    )
    (test,) = pregnancy_tests([patient.pk], since=date(2025, 3, 1), as_of=date(2025, 3, 3))[
        patient.pk
    ]
    assert test.sensitivity_miu_ml == Decimal("5")


# --- The moved models keep their content type's permissions ---------------------------------


def test_lab_results_belong_to_the_patients_app_and_roles_keep_their_lab_permissions(
    nurse, physician, rems_admin
):
    assert ContentType.objects.get_for_model(LabResult).app_label == "patients"
    assert LabResult._meta.db_table == "monitoring_labresult"
    assert nurse.has_perms(["patients.view_labresult", "patients.add_labresult"])
    assert physician.has_perm("patients.change_labresult")
    assert rems_admin.has_perm("patients.view_labresult")
    assert not rems_admin.has_perm("patients.add_labresult")
