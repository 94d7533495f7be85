"""The exact words of the lab interface's problems (ACK ERR-8, the interface queue, tests)."""

NOT_HL7 = "Not an HL7 v2 message: it must start with an MSH segment ({error})."
TOO_LARGE = "The message is larger than {limit} bytes and was not read."
NOT_UTF8 = "The message is not valid UTF-8 text."
NO_CONTROL_ID = "MSH-10 (message control id) is empty."
NOT_ORU = "Only ORU^R01 lab results are accepted; this message is {type}."
ONE_PATIENT = "The message has {count} PID segments; send one patient per message."
NO_PID = "The message has no PID segment."
NO_OBX = "The message has no OBX result segments."
OBX_BEFORE_OBR = "OBX segment {seq} comes before any OBR segment."
UNREGISTERED = (
    "Sender {facility!r} with assigning authority {authority} is not registered: register it "
    "in admin (HL7 senders) or with manage.py hl7_sender, then retry."
)
NO_MRN = "PID-3 has no MRN."
UNKNOWN_PATIENT = (
    "No patient with MRN {mrn} in {clinic}: match the message to a patient, or register "
    "the patient and retry."
)
NO_DOB = "PID-7 (date of birth) is empty: the patient cannot be confirmed."
BAD_DOB = "PID-7 {value!r} is not a date of birth (YYYYMMDD)."
DOB_MISMATCH = (
    "Date of birth {value} does not match the patient with MRN {mrn}: held, not attached. "
    "Check the patient and match the message by hand if it is theirs."
)
UNKNOWN_CODE = (
    "Test {code!r} ({system}) is not in the lab catalogue and has no local code mapping for "
    "{facility!r}: map the code, then retry."
)
UNKNOWN_UNIT = "{test}: unit {unit!r} is not a known spelling: map the unit, then retry."
NO_UNIT = "{test}: OBX-6 (units) is empty."
NO_VALUE = "{test}: OBX-5 (value) is empty."
COMPARATOR = "{test}: {value!r} is a bound, not a measured value; enter it by hand if needed."
BAD_RANGE = "{test}: reference range {value!r} is not understood (expected e.g. 4.0-11.0, <5)."
RANGE_IGNORED = (
    "{test}: reference range {value!r} is not understood (expected e.g. 4.0-11.0, <5); "
    "stored with the catalogue range."
)
BAD_STATUS = "{test}: result status (OBX-11) {value!r} is not one of P, R, S, F, U, C, D, W, I, X."
NO_RESULT_YET = (
    "{test}: no result (OBX-11 {status}: {meaning}); this line was skipped, the rest stored."
)
NOTHING_TO_FINALISE = (
    "{test} collected at {when}: the lab made a result final (OBX-11 U) that is not on "
    "record as preliminary."
)
NO_TIME = "{test}: no collection time (OBX-14 or OBR-7)."
BAD_TIME = "{test}: collection time {value!r} is not an HL7 date and time."
NOTHING_TO_WITHDRAW = (
    "{test} collected at {when}: the lab withdrew a result (OBX-11 {status}) that is not on record."
)
TOO_LONG = "{test}: {value!r} is longer than 30 characters."
INTERNAL = "The message could not be processed ({error}); it is kept for review."
RATIO_COMPUTED = "{test} is computed here from kappa and lambda; the lab's value was not stored."
