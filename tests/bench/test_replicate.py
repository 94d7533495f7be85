"""bench/replicate.py: the 100,000-patient bench cohort is the seeded demo cohort copied in
SQL. The copy runs on PostgreSQL only; the model walk is checked everywhere."""

import pytest
from django.core.management import call_command
from django.db import connection

from bench.replicate import ReplicationError, check, owned_models, replicate
from monitoring.models import Flag
from patients.models import LabResult, Patient


def test_patient_owned_tables_include_history_and_leave_shared_tables_out():
    tables = {m._meta.db_table for m in owned_models()}
    for table in (
        "patients_patient",
        "patients_historicalpatient",
        "monitoring_labresult",
        "monitoring_historicallabresult",
        "monitoring_notification",
        "therapy_hold",
        "therapy_historicaldosesuggestion",
    ):
        assert table in tables
    for table in ("auth_user", "patients_clinic", "patients_rulesetting", "therapy_regimen"):
        assert table not in tables


@pytest.fixture
def seeded_pg(db, db_vendor):
    if db_vendor != "postgresql":
        pytest.skip("the replication is PostgreSQL SQL")
    call_command("seed_demo", patients=12, verbosity=0)


def test_replicate_twice_doubles_every_patient_table_and_every_reference_resolves(seeded_pg):
    base = {p.pk: p for p in Patient.objects.all()}
    result = replicate(2, log=lambda _: None)

    assert check(result) == []
    assert result["rows"]["patients_patient"] == len(base) == 12
    offset = max(base)
    for copy in Patient.objects.exclude(pk__in=base):
        original = base[copy.pk - offset]
        assert copy.mrn == f"{original.mrn}-r1"
        assert copy.public_id != original.public_id
        assert copy.history.get().public_id == copy.public_id


def test_copied_flag_evidence_names_the_copied_patients_lab_results(seeded_pg):
    replicate(2, log=lambda _: None)
    copies = Patient.objects.filter(mrn__endswith="-r1")
    evidence = [
        e["result_id"]
        for flag in Flag.objects.filter(patient__in=copies)
        for e in flag.evidence
        if "result_id" in e
    ]
    assert evidence
    owners = dict(LabResult.objects.filter(pk__in=evidence).values_list("pk", "patient__mrn"))
    assert len(owners) == len(set(evidence))
    assert all(mrn.endswith("-r1") for mrn in owners.values())


def test_a_replicated_cohort_is_not_replicated_again(seeded_pg):
    replicate(2, log=lambda _: None)
    with pytest.raises(ReplicationError, match="already replicated"):
        replicate(2, log=lambda _: None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM patients_patient")
        assert cursor.fetchone()[0] == 24
