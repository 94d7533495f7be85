"""Synthetic ORU^R01 messages (written here, never copied from a real feed) and a sender."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import pytest

from monitoring.interop import hl7 as ingest
from monitoring.interop import services as interop_services

FACILITY = "NORTHLAB"
AUTHORITY = "NORTHMRN"
DOB = "19600517"  # tests.factories.PatientFactory


def free_port() -> int:
    """A loopback port nobody listens on now: the system picks one (port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Res:
    code: str
    value: str
    unit: str = ""
    ref: str = ""
    flags: str = ""
    status: str = "F"
    system: str = "LN"
    kind: str = "NM"
    observed: str = ""
    text: str = ""


CBC = [
    Res("6690-2", "5.6", "10*9/L", "4.0-11.0"),
    Res("751-8", "3.1", "10*9/L", "2.0-7.5"),
    Res("731-0", "1.4", "10*9/L", "1.0-4.0"),
    Res("718-7", "13.2", "g/dL", "12.0-16.0"),
    Res("777-3", "210", "10*9/L", "150-400"),
]


def oru(
    groups,
    *,
    control_id: str = "MSG0001",
    facility: str = FACILITY,
    mrn: str = "A-1001",
    authority: str = AUTHORITY,
    dob: str = DOB,
    message_type: str = "ORU^R01^ORU_R01",
    end: str = "\r",
) -> str:
    """groups: [(OBR-7 collection time, [Res, ...]), ...] -> one ORU^R01 message."""
    segments = [
        f"MSH|^~\\&|LIS|{facility}|MMM|ALPHA|20250602101500-0400||{message_type}|{control_id}|P|2.5.1",
        f"PID|1||{mrn}^^^{authority}^MR~123-45-6789^^^SSA^SS||Lovelace^Ada||{dob}|F",
    ]
    obx = 0
    for number, (collected, results) in enumerate(groups, start=1):
        segments.append(f"OBR|{number}||ACC{number}|58410-2^CBC^LN|||{collected}")
        for r in results:
            obx += 1
            segments.append(
                f"OBX|{obx}|{r.kind}|{r.code}^{r.text or r.code}^{r.system}||{r.value}|{r.unit}|"
                f"{r.ref}|{r.flags}|||{r.status}|||{r.observed}"
            )
    return end.join(segments) + end


@pytest.fixture
def sender(clinic_a):
    return interop_services.sender_register(facility=FACILITY, authority=AUTHORITY, clinic=clinic_a)


def receive(text: str, channel: str = "mllp"):
    return ingest.receive(text, channel=channel)
