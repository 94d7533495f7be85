"""One date format for the whole app, Django admin included: ISO ``YYYY-MM-DD`` and 24-hour
``HH:MM`` (the en-us locale prints "Nov. 30, 2026, 2:05 p.m." and reads mm/dd/yyyy)."""

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"
# Dates are typed as shown: "03/04/2026" is refused rather than read as 4 March or 3 April.
DATE_INPUT_FORMATS = ["%Y-%m-%d"]
