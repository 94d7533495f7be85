"""import_hl7 (files of several messages, BOM, any line ending) and hl7_sender."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from monitoring.interop.models import Hl7Sender, InterfaceMessage
from patients.models import LabResult
from tests.factories import PatientFactory
from tests.monitoring.interop.conftest import AUTHORITY, CBC, FACILITY, oru

pytestmark = pytest.mark.django_db

DRAWN = "20250602083000-0400"


def test_hl7_sender_registers_a_sender_with_history(clinic_a, capsys):
    call_command(
        "hl7_sender", "--facility", FACILITY, "--authority", AUTHORITY, "--clinic", "alpha"
    )

    sender = Hl7Sender.objects.get()
    assert sender.clinic == clinic_a and sender.history.count() == 1
    assert "Registered HL7 sender: NORTHLAB / NORTHMRN -> alpha" in capsys.readouterr().out


def test_hl7_sender_with_an_unknown_clinic_names_the_clinics(clinic_a):
    with pytest.raises(CommandError, match="No clinic with code 'nowhere' \\(clinics: alpha\\)"):
        call_command("hl7_sender", "--facility", "X", "--authority", "Y", "--clinic", "nowhere")


def test_import_a_file_of_several_patients_prints_one_line_per_message(
    tmp_path, sender, patient, clinic_a, capsys
):
    PatientFactory(clinic=clinic_a, mrn="A-1002")
    text = (
        "FHS|^~\\&|LIS|NORTHLAB\r\n"
        + oru([(DRAWN, CBC)], control_id="F1", end="\r\n")
        + oru([(DRAWN, CBC)], control_id="F2", mrn="A-1002", end="\r\n")
        + oru([(DRAWN, CBC)], control_id="F3", mrn="A-7777", end="\r\n")
        + "FTS|3\r\n"
    )
    path = tmp_path / "results.hl7"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())

    call_command("import_hl7", str(path))

    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4
    assert lines[0].endswith("F1 AA accepted, 5 results")
    assert " F2 AA accepted" in lines[1]
    assert " F3 AE held for review: No patient with MRN A-7777" in lines[2]
    assert lines[3] == "3 messages: 2 accepted, 1 held, 0 refused."
    assert LabResult.objects.count() == 10
    assert InterfaceMessage.objects.filter(channel="file").count() == 3


@pytest.mark.parametrize("end", ["\n", "\r"])
def test_import_accepts_newline_and_carriage_return_endings(tmp_path, sender, patient, end, capsys):
    path = tmp_path / "one.hl7"
    path.write_text(oru([(DRAWN, CBC)], end=end))

    call_command("import_hl7", str(path))

    assert "AA accepted, 5 results" in capsys.readouterr().out


def test_importing_the_same_file_twice_stores_nothing_twice(tmp_path, sender, patient, capsys):
    path = tmp_path / "one.hl7"
    path.write_text(oru([(DRAWN, CBC)]))

    call_command("import_hl7", str(path))
    call_command("import_hl7", str(path))

    assert "repeat of an earlier message, not stored again" in capsys.readouterr().out
    assert LabResult.objects.count() == 5


def test_import_of_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_hl7", str(tmp_path / "absent.hl7"))


def test_import_of_a_binary_file_is_refused_and_logged(tmp_path, capsys):
    path = tmp_path / "binary.hl7"
    path.write_bytes(b"\xff\xfe\x00garbage")

    call_command("import_hl7", str(path))

    assert "refused (AR)" in capsys.readouterr().out
    assert InterfaceMessage.objects.get().status == "refused"
