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


# A mark, not a skip inside a fixture: on SQLite no test database is built for nothing.
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the replication is PostgreSQL SQL"
)


@pytest.fixture
def seeded_pg(db):
    call_command("seed_demo", patients=12, verbosity=0)


@postgresql_only
def test_replicate_twice_doubles_every_patient_table_once_and_every_reference_resolves(seeded_pg):
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

    with pytest.raises(ReplicationError, match="already replicated"):
        replicate(2, log=lambda _: None)
    assert Patient.objects.count() == 24


@postgresql_only
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
