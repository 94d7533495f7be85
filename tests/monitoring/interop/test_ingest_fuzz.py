"""Any field content answers AA, AE or AR: the ingest service never raises for input."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitoring.interop import hl7 as ingest
from tests.monitoring.interop.conftest import Res, oru

pytestmark = pytest.mark.django_db

_ids = itertools.count()
field = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20).map(
    lambda t: t.replace("\r", "").replace("\n", "")
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    code=st.one_of(
        field, st.sampled_from(["751-8", "777-3", "718-7", "2160-0", "21198-7", "2118-8"])
    ),
    value=st.one_of(field, st.decimals(allow_nan=True, allow_infinity=True).map(str)),
    unit=st.one_of(field, st.sampled_from(["10*9/L", "g/dL", "umol/L", "m[IU]/mL", ""])),
    ref=st.one_of(field, st.sampled_from(["4.0-11.0", "<5", ">1", "11-4", ""])),
    status=st.one_of(field, st.sampled_from(list("PFCDWX"))),
    when=st.one_of(field, st.sampled_from(["20250602083000-0400", "20250602", "2099", ""])),
    dob=st.one_of(field, st.just("19600517")),
)
def test_random_field_content_never_raises(
    sender, patient, code, value, unit, ref, status, when, dob
):
    text = oru(
        [(when, [Res(code, value, unit, ref, status=status)])],
        control_id=f"FZ{next(_ids)}",
        dob=dob,
    )
    outcome = ingest.receive(text, channel="mllp")
    assert outcome.ack_code in ("AA", "AE", "AR")
    assert "\rMSA|" + outcome.ack_code in outcome.ack
    assert "could not be processed" not in outcome.message.reason  # no internal error
