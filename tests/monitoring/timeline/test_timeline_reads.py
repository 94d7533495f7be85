"""The timeline's combined and remembered reads give what the separate reads gave: the
small rows' union, the lab rows read again only when their digest changes, and the
figures remembered by their inputs."""

import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from monitoring.timeline import lab_rows as lab_rows_module
from monitoring.timeline import views as timeline_views
from monitoring.timeline.figures import CountSeries, Point, counts_figure
from monitoring.timeline.lab_rows import lab_rows
from monitoring.timeline.models import ResponseAssessment
from monitoring.timeline.selectors import ALL_CODES, LabRow
from monitoring.timeline.side_rows import side_rows
from patients.models import LabResult, PatientNote, Transplant
from patients.selectors import rule_settings_state

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the lab rows' digest is PostgreSQL's"
)


def _lab(patient, code, value, on: date, **extra):
    return LabResult.objects.create(
        patient=patient,
        test_code=code,
        panel="cbc",
        collected_at=timezone.make_aware(datetime.combine(on, time(8, 30))),
        entered_at=timezone.now(),
        canonical_value=Decimal(value),
        canonical_unit="10^9/L",
        ctcae_grade=0,
        ctcae_version="5.0",
        **extra,
    )


def _fields(row) -> dict:
    return {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields}


def note_in_error(patient, author, now):
    """A clinic note marked entered-in-error: no read may show it."""
    PatientNote.objects.create(
        patient=patient,
        kind="clinic",
        reason="other",
        text="in error",
        contact_at=now,
        author=author,
        entered_in_error_at=now,
    )


@pytest.mark.django_db
def test_side_rows_give_the_rows_the_separate_queries_gave(
    patient, physician, nurse, django_assert_num_queries
):
    Transplant.objects.create(
        patient=patient,
        transplanted_on=date(2023, 5, 1),
        kind="allogeneic",
        entered_in_error_at=timezone.now(),
        entered_in_error_reason="wrong patient",
    )
    for on, category, error in (
        (date(2025, 3, 1), "VGPR", False),
        (date(2025, 6, 1), "CR", True),
        (date(2025, 9, 1), "PR", False),
    ):
        ResponseAssessment.objects.create(
            patient=patient,
            assessed_on=on,
            category=category,
            basis="Labs reviewed",
            assessed_by=physician,
            suggestion={"rule_id": "imwg.response", "values": {"spep": "0.4"}},
            entered_in_error_at=timezone.now() if error else None,
        )
    now = timezone.now()
    for days, text, error in ((40, "Tired <b>& dizzy</b>", False), (3, "x" * 250, False)):
        PatientNote.objects.create(
            patient=patient,
            kind="telephone",
            reason="symptoms",
            text=text,
            contact_at=now - timedelta(days=days),
            author=nurse,
            entered_in_error_at=now if error else None,
        )
    note_in_error(patient, nurse, now)

    with django_assert_num_queries(1):
        side = side_rows(patient)
    with django_assert_num_queries(0):  # left as prefetch_related and select_related leave them
        transplants = list(patient.transplants.all())
        assessors = [a.assessed_by.username for a in side.assessments]

    expected_transplants = list(
        Transplant.objects.filter(patient=patient).order_by("transplanted_on", "pk")
    )
    assert [_fields(t) for t in transplants] == [_fields(t) for t in expected_transplants]
    assert [_fields(t) for t in side.transplants] == [_fields(t) for t in expected_transplants]
    expected = list(
        ResponseAssessment.objects.valid()
        .filter(patient=patient)
        .select_related("assessed_by")
        .order_by("-assessed_on", "-pk")
    )
    assert [_fields(a) for a in side.assessments] == [_fields(a) for a in expected]
    assert [a.category for a in side.assessments] == ["PR", "VGPR"]
    assert side.assessments[0].suggestion == {"rule_id": "imwg.response", "values": {"spep": "0.4"}}
    assert assessors == [physician.username, physician.username]
    expected_notes = list(
        PatientNote.objects.valid().filter(patient=patient).order_by("contact_at", "pk")
    )
    assert [_fields(n) for n in side.notes] == [_fields(n) for n in expected_notes]
    assert len(side.notes) == 2
    assert side.rules_state == rule_settings_state()


@pytest.mark.django_db
def test_timeline_draws_a_note_marker_per_valid_note(client_for, physician, nurse, patient):
    now = timezone.now()
    PatientNote.objects.create(
        patient=patient,
        kind="telephone",
        reason="symptoms",
        text="y" * 250,
        contact_at=now,
        author=nurse,
    )
    note_in_error(patient, nurse, now)
    page = client_for(physician).get(reverse("monitoring:timeline", args=[patient.public_id]))
    regimen = json.loads(
        page.content.decode()
        .split('id="regimen-figure" type="application/json">', 1)[1]
        .split("</script>", 1)[0]
    )
    (notes,) = [t for t in regimen["data"] if t["meta"].get("kind") == "note"]
    assert notes["text"] == ["Telephone call: Symptoms or side effects: " + "y" * 199 + "…"]


def _rows(patient):
    return lab_rows(patient, ALL_CODES, LabRow._fields, LabRow._make)


@postgresql_only
@pytest.mark.django_db
def test_lab_rows_unchanged_are_not_sent_again(patient, django_assert_num_queries):
    _lab(patient, "ANC", "1.9", date(2025, 1, 1))
    first, digest = _rows(patient)
    with django_assert_num_queries(1):
        again, same_digest = _rows(patient)
    assert again == first and same_digest == digest is not None
    assert again[0].canonical_value == Decimal("1.9")


@postgresql_only
@pytest.mark.django_db
def test_lab_rows_changed_by_a_bare_update_are_read_again(patient):
    result = _lab(patient, "ANC", "1.9", date(2025, 1, 1))
    _lab(patient, "PLT", "150", date(2025, 1, 1))
    before, digest = _rows(patient)
    LabResult.objects.filter(pk=result.pk).update(canonical_value=Decimal("0.4"))
    changed, changed_digest = _rows(patient)
    assert changed_digest != digest
    assert [r.canonical_value for r in changed] == [Decimal("0.4"), Decimal("150")]
    LabResult.objects.filter(pk=result.pk).update(entered_in_error_at=timezone.now())
    assert [r.test_code for r in _rows(patient)[0]] == ["PLT"]
    LabResult.objects.filter(pk=result.pk).update(result_status="superseded")
    LabResult.objects.filter(pk=result.pk).update(entered_in_error_at=None)
    assert [r.test_code for r in _rows(patient)[0]] == ["PLT"]
    LabResult.objects.filter(pk=result.pk).update(result_status="final")
    assert [r.canonical_value for r in _rows(patient)[0]] == [Decimal("0.4"), Decimal("150")]


@postgresql_only
@pytest.mark.django_db
def test_lab_rows_are_kept_per_time_zone(patient):
    _lab(patient, "ANC", "1.9", date(2025, 1, 1))
    with timezone.override("UTC"):
        (utc,), _ = _rows(patient)
    with timezone.override("Asia/Tokyo"):
        (tokyo,), _ = _rows(patient)
    assert utc.collected_at == tokyo.collected_at  # the same moment, on two clocks
    assert utc.collected_at.utcoffset() == timedelta(0)
    assert tokyo.collected_at.utcoffset() == timedelta(hours=9)


@postgresql_only
@pytest.mark.django_db
def test_a_patient_with_no_results_reads_none(patient):
    assert _rows(patient) == ([], None)
    assert all(key[0] != patient.pk for key in lab_rows_module._KEPT.held())


@pytest.mark.django_db
def test_timeline_shows_a_changed_result_on_the_next_request(client_for, physician, patient):
    result = _lab(patient, "ANC", "1.9", date.today() - timedelta(days=10))
    client = client_for(physician)
    url = reverse("monitoring:timeline", args=[patient.public_id])
    assert "1.9 10^9/L" in client.get(url).content.decode()
    assert "1.9 10^9/L" in client.get(url).content.decode()  # remembered
    LabResult.objects.filter(pk=result.pk).update(canonical_value=Decimal("0.7"))
    page = client.get(url).content.decode()
    assert "0.7 10^9/L" in page and "1.9 10^9/L" not in page


def _series(on):
    return (CountSeries("ANC", "ANC", "10^9/L", (Point(on, Decimal("1.9"), "10^9/L", places=1),)),)


def test_a_figure_is_built_once_for_the_same_inputs():
    built = []

    def counting(series, thresholds, **kwargs):
        built.append(1)
        return counts_figure(series, thresholds, **kwargs)

    on = timezone.make_aware(datetime(2025, 1, 1, 8, 30))
    first = timeline_views._figure_script("counts-figure", counting, _series(on), ())
    again = timeline_views._figure_script("counts-figure", counting, _series(on), ())
    assert first == again and len(built) == 1
    timeline_views._figure_script(
        "counts-figure", counting, _series(on), (), expected_interval_days=28
    )
    assert len(built) == 2


def test_a_figure_is_built_again_in_another_time_zone():
    """The same moment reads differently on another clinic's clock: the key has the zone."""
    moment = datetime(2025, 1, 1, 8, 30, tzinfo=UTC)
    with timezone.override("UTC"):
        utc = timeline_views._figure_script(
            "counts-figure",
            counts_figure,
            _series(moment.astimezone(timezone.get_current_timezone())),
            (),
        )
    with timezone.override("Asia/Tokyo"):
        tokyo = timeline_views._figure_script(
            "counts-figure",
            counts_figure,
            _series(moment.astimezone(timezone.get_current_timezone())),
            (),
        )
    assert "2025-01-01 08:30" in utc and "2025-01-01 17:30" in tokyo


def test_recent_keeps_the_values_used_last():
    from monitoring.timeline.recent import Recent

    kept = Recent(2)
    kept.put("a", 1)
    kept.put("b", 2)
    assert kept.get("a") == 1  # "a" used last: "b" goes first
    kept.put("c", 3)
    assert kept.held() == ["a", "c"] and kept.get("b") is None
