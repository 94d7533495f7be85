"""What the everyday pages cost does not grow with the data: the trivial logged-in page and
its navbar counts, and the nurse worklist (query counts pinned; the navbar count's plan
pinned on PostgreSQL)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from monitoring import selectors
from monitoring.models import Flag, MonitoringStatus
from tests.factories import PatientFactory
from therapy.views import PAGE_SIZE

pytestmark = pytest.mark.django_db

# The trivial page: session, user, the user's and groups' permissions, the navbar's counts,
# groups and clinics (lazy, read once each), the session saved (BEGIN, UPDATE, COMMIT).
ABOUT_QUERIES = 10
# The worklist: the trivial page's 10 plus the user's clinics (the clinic choice and the
# switcher, read once), the worklist order (one query of small tuples), the page's patients,
# flags (with the "nobody notified" check in the same query) and statuses, done today and
# the follow-up calls. Rendered rows come from the cache or not: no query.
WORKLIST_QUERIES = 17


def flag(patient, kind, severity=2, **extra):
    return Flag.objects.create(
        patient=patient,
        kind=kind,
        severity=severity,
        message=f"{kind} message",
        rule_id="rule",
        basis="basis",
        opened_at=timezone.now(),
        opened_as_of=timezone.localdate(),
        # A flag carries its rule's inputs and evidence: the navbar never reads them.
        values={"anc": "0.4", "note": "x" * 500},
        evidence=[{"code": "ANC", "value": "0.4", "unit": "10^9/L"}] * 5,
        **extra,
    )


def populate(clinic, count, *, start=0):
    today = timezone.localdate()
    for index in range(start, start + count):
        patient = PatientFactory(clinic=clinic, mrn=f"P{index:04d}")
        MonitoringStatus.objects.create(
            patient=patient,
            evaluated_at=timezone.now(),
            as_of=today,
            on_course=True,
            cbc_phase="standard",
            last_cbc_on=today - timedelta(days=30),
            cbc_due_on=today + timedelta(days=index % 5),
            cbc_overdue_after=today + timedelta(days=index % 5 + 3),
        )
        flag(patient, "neutropenia", severity=4 if index % 7 == 0 else 2, ctcae_grade=3)
        flag(patient, "pregnancy_test_due")
        flag(patient, "hold_recommended", severity=3)


def queries(client, url) -> int:
    client.get(url)  # warm the session and permission caches
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("role", ["nurse", "physician"])
def test_the_trivial_page_takes_the_same_queries_with_no_flags_and_with_many(
    request, role, client_for, clinic_a, django_assert_num_queries
):
    client = client_for(request.getfixturevalue(role))
    url = reverse("about")
    client.get(url)
    with django_assert_num_queries(ABOUT_QUERIES):
        client.get(url)
    populate(clinic_a, 40)
    client.get(url)
    with django_assert_num_queries(ABOUT_QUERIES):
        page = client.get(url).content.decode()
    assert 'data-testid="open-flag-count">120<' in page  # 40 patients, 3 open flags each


def test_the_navbar_counts_are_answered_from_the_index_alone_on_postgresql(
    nurse, clinic_a, db_vendor
):
    if db_vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's (SQLite has no index-only scan to pin)")
    populate(clinic_a, 30)
    with CaptureQueriesContext(connection) as captured:
        selectors.open_flag_counts(nurse)
    (query,) = captured.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE monitoring_flag")
        # A test table is tiny, so the planner would rightly read it whole or by any index.
        # Leave it only index-only scans: the flags can then be read without a penalty only
        # if every column the count needs is in flag_open_patient_counts_idx (so never the
        # flag rows and their JSON). On the 10,000-patient cohort it picks that plan itself.
        for method in ("seqscan", "indexscan", "bitmapscan"):
            cursor.execute(f"SET LOCAL enable_{method} = off")
        cursor.execute("EXPLAIN " + query["sql"], query.get("params"))
        plan = "\n".join(row[0] for row in cursor.fetchall())
        for method in ("seqscan", "indexscan", "bitmapscan"):
            cursor.execute(f"RESET enable_{method}")
    assert "Index Only Scan using flag_open_patient_counts_idx" in plan, plan
    assert "Seq Scan on monitoring_flag" not in plan, plan
    assert "Index Scan using monitoring_flag" not in plan, plan


def test_the_worklist_order_reads_the_clinics_patients_from_an_index_alone_on_postgresql(
    clinic_a, clinic_b, db_vendor
):
    if db_vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's (SQLite has no index-only scan to pin)")
    populate(clinic_a, 30)
    # Another clinic's patients, as on a shared server: reading every patient is then
    # dearer than reading the clinic's, whatever the visibility of the new rows.
    PatientFactory.create_batch(300, clinic=clinic_b)
    with CaptureQueriesContext(connection) as captured:
        selectors.worklist_patients(clinic_a.pk, as_of=timezone.localdate()).count()
    (query,) = captured.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE monitoring_flag")
        cursor.execute("ANALYZE patients_patient")
        # As for the navbar counts: only index-only scans left, so the plan reads the clinic's
        # patients without a penalty only if an index carries every column the order needs of
        # them (clinic, validity, id: patient_clinic_valid_idx). On a tiny table the flags
        # are read whole; on the 10,000-patient cohort from flag_open_patient_counts_idx.
        # One process, as a page's query runs on the cohort (no parallel plan for 30 rows).
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        for method in ("seqscan", "indexscan", "bitmapscan"):
            cursor.execute(f"SET LOCAL enable_{method} = off")
        cursor.execute("EXPLAIN " + query["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
        for method in ("seqscan", "indexscan", "bitmapscan"):
            cursor.execute(f"RESET enable_{method}")
        cursor.execute("RESET max_parallel_workers_per_gather")
    assert "Index Only Scan using patient_clinic_valid_idx" in plan, plan
    assert "Seq Scan on patients_patient" not in plan, plan


def test_the_worklist_takes_the_same_queries_for_12_and_60_patients(
    client_for, nurse, clinic_a, django_assert_num_queries
):
    client = client_for(nurse)
    url = reverse("monitoring:worklist")
    populate(clinic_a, 12)
    assert queries(client, url) == WORKLIST_QUERIES
    populate(clinic_a, 48, start=12)
    client.get(url)
    with django_assert_num_queries(WORKLIST_QUERIES):
        page = client.get(url).content.decode()
    assert page.count('data-testid="worklist-row"') == 10  # the top ten, then "next page"
    assert "60 patients</strong> with something to do" in page
    assert "patients 1–10 shown" in page
    assert "page=2" in page


def test_the_worklist_pages_keep_the_order_worst_first_then_cbc_due_soonest(
    client_for, nurse, clinic_a
):
    populate(clinic_a, 25)
    client = client_for(nurse)
    order = []
    for number in (1, 2, 3):
        page = client.get(reverse("monitoring:worklist") + f"?page={number}").content.decode()
        order += [
            chunk.split("MRN ", 1)[1].split("<", 1)[0]
            for chunk in page.split('data-testid="worklist-row"')[1:]
        ]
    assert len(order) == len(set(order)) == 25  # every patient once, across the pages
    due = {f"P{i:04d}": i % 5 for i in range(25)}
    critical = {f"P{i:04d}" for i in range(25) if i % 7 == 0}  # severity 4
    assert set(order[: len(critical)]) == critical  # the critical patients first
    for group in (order[: len(critical)], order[len(critical) :]):  # then the CBC due soonest
        assert [due[mrn] for mrn in group] == sorted(due[mrn] for mrn in group)


def test_the_worklist_lists_the_ten_calls_due_first_and_shows_all_on_request(
    client_for, nurse, clinic_a
):
    from patients.models import FollowUpCall

    today = timezone.localdate()
    for index in range(12):
        FollowUpCall.objects.create(
            patient=PatientFactory(clinic=clinic_a, family_name=f"Caller{index:02d}"),
            kind=FollowUpCall.Kind.NOTE,
            due_from=today - timedelta(days=20),
            due_by=today + timedelta(days=index),  # Caller00's deadline first
            purpose="Ask about the rash",
        )
    client = client_for(nurse)
    page = client.get(reverse("monitoring:worklist")).content.decode()
    calls = page.split('data-testid="follow-up-calls"')[1].split("</ul>")[0]
    assert [f"Caller{i:02d}" in calls for i in range(12)] == [True] * 10 + [False] * 2
    assert "2 more calls due, later deadlines" in page
    every = client.get(reverse("monitoring:worklist") + "?calls=all").content.decode()
    calls = every.split('data-testid="follow-up-calls"')[1].split("</ul>")[0]
    assert all(f"Caller{i:02d}" in calls for i in range(12))
    assert 'data-testid="more-calls"' not in every


@pytest.mark.parametrize(("mine", "more"), [(10, None), (11, "1 more call due,")])
def test_the_worklist_counts_only_its_clinics_valid_calls_due_beyond_the_ten_shown(
    client_for, nurse, clinic_a, clinic_b, mine, more
):
    from patients.models import FollowUpCall

    today = timezone.localdate()

    def call(patient, **dates):
        dates = {"due_from": today - timedelta(days=1), "due_by": today, **dates}
        FollowUpCall.objects.create(patient=patient, kind=FollowUpCall.Kind.NOTE, **dates)

    for _ in range(mine):
        call(PatientFactory(clinic=clinic_a))
    # Not counted: another clinic's call, an entered-in-error patient's, one not due yet, a
    # closed one.
    call(PatientFactory(clinic=clinic_b))
    call(PatientFactory(clinic=clinic_a, entered_in_error_at=timezone.now()))
    call(
        PatientFactory(clinic=clinic_a),
        due_from=today + timedelta(days=1),
        due_by=today + timedelta(days=2),
    )
    done = PatientFactory(clinic=clinic_a)
    call(done)
    FollowUpCall.objects.filter(patient=done).update(status=FollowUpCall.Status.CANCELLED)
    page = client_for(nurse).get(reverse("monitoring:worklist")).content.decode()
    calls = page.split('data-testid="follow-up-calls"')[1].split("</ul>")[0]
    assert calls.count('class="list-group-item"') == 10
    if more is None:
        assert 'data-testid="more-calls"' not in page
    else:
        assert more in page


def test_the_worklist_calls_block_shows_a_change_to_a_call_or_its_patient_at_once(
    client_for, nurse, clinic_a
):
    """The block is rendered once per content: a bare UPDATE of the patient's name or the
    call's deadline (no timestamp moves) shows on the next page, and so does the day."""
    import time_machine

    from patients.models import FollowUpCall, Patient

    today = timezone.localdate()
    patient = PatientFactory(clinic=clinic_a, family_name="Before")
    call = FollowUpCall.objects.create(
        patient=patient,
        kind=FollowUpCall.Kind.NOTE,
        due_from=today - timedelta(days=2),
        due_by=today + timedelta(days=1),
        purpose="Ask about the rash",
    )

    def calls():
        page = client_for(nurse).get(reverse("monitoring:worklist")).content.decode()
        return page.split('data-testid="follow-up-calls"')[1].split("</ul>")[0]

    assert "Before" in calls() and "late" not in calls()
    Patient.objects.filter(pk=patient.pk).update(family_name="After")
    assert "After" in calls() and "Before" not in calls()
    FollowUpCall.objects.filter(pk=call.pk).update(due_by=today - timedelta(days=1))
    assert "late" in calls()
    FollowUpCall.objects.filter(pk=call.pk).update(due_by=today + timedelta(days=1))
    assert "late" not in calls()
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        assert "late" in calls()  # a new day: the deadline has passed


# The REMS list, most urgent first: the trivial page's 10 plus the clinic choice, the
# patients with their REMS annotations (one read for the whole clinic: the order needs every
# status), the clinic's rule settings.
REMS_LIST_QUERIES = 13


def test_the_rems_list_takes_the_same_queries_for_12_and_60_patients(
    client_for, rems_admin, clinic_a
):
    client = client_for(rems_admin)
    url = reverse("therapy:rems_list")
    populate(clinic_a, 12)
    assert queries(client, url) == REMS_LIST_QUERIES
    populate(clinic_a, 48, start=12)
    assert queries(client, url) == REMS_LIST_QUERIES
    page = client.get(url).content.decode()
    assert "60 patients." in page
    # One page of rows (PAGE_SIZE), not the whole clinic.
    assert sum(f"P{index:04d}" in page for index in range(60)) == PAGE_SIZE


def test_the_rems_list_export_lists_every_patient_in_the_same_queries(
    client_for, rems_admin, clinic_a
):
    client = client_for(rems_admin)
    url = reverse("therapy:rems_export")
    populate(clinic_a, 12)
    twelve = queries(client, url)
    populate(clinic_a, 48, start=12)
    assert queries(client, url) == twelve
    rows = client.get(url).content.decode().strip().splitlines()
    assert len(rows) == 61  # the header and every patient, not one page
