"""One date format for the whole app, Django admin included: ISO ``YYYY-MM-DD`` and 24-hour
``HH:MM`` (the en-us locale prints "Nov. 30, 2026, 2:05 p.m."). Input formats stay the
locale's, whose first is ``%Y-%m-%d``."""

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"
