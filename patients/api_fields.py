"""Shared API plumbing for every app: the strict JSON parser (size, depth, text) and the
serializer fields that refuse what no column can hold. The rules themselves live in
``patients.parsing``; this module only adapts them to Django REST framework.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import ParseError as ApiParseError
from rest_framework.parsers import JSONParser

from patients import parsing

JSON_TOO_DEEP = "The JSON body is nested deeper than {limit} levels; no request needs more."
JSON_BAD_TEXT = "The JSON body is not valid: {problem}"
DATETIME_FORMAT = (
    "{name} must be a date and time written YYYY-MM-DDTHH:MM[:SS] with an offset "
    "(such as 2026-11-01T01:30-05:00); without one it is read in the clinic's time zone."
)

# Strings are removed before counting brackets, so a "[" inside a note is not a level.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(rb"[\[\]{}]")


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text (0 for a scalar)."""
    deepest = depth = 0
    for match in _BRACKETS.finditer(_JSON_STRING.sub(b'""', body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _check_strings(value, path: str = "body") -> None:
    """Refuse a NUL or an unpaired surrogate anywhere in the parsed body (keys included)."""
    if isinstance(value, str):
        try:
            parsing.check_text(value, name=path)
        except parsing.ParseError as error:
            raise ApiParseError(error.message) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, path)
            _check_strings(item, f"{path}.{key}" if isinstance(key, str) else path)
    elif isinstance(value, list):
        for position, item in enumerate(value):
            _check_strings(item, f"{path}[{position}]")


class StrictJSONParser(JSONParser):
    """JSON with limits: the body size is checked by ``config.middleware`` before it is read;
    here the nesting depth (before ``json.loads`` can recurse) and the text inside."""

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read() if stream is not None else b""
        limit = settings.API_MAX_JSON_DEPTH
        if json_depth(body) > limit:
            raise ApiParseError(JSON_TOO_DEEP.format(limit=limit))
        try:
            data = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
        except (ValueError, RecursionError) as error:
            raise ApiParseError(JSON_BAD_TEXT.format(problem=error)) from None
        _check_strings(data)
        return data


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


class StrictTextField(serializers.CharField):
    """Text only (a number or an object is refused, not turned into its repr), without NUL
    or unpaired surrogates."""

    def to_internal_value(self, data):
        try:
            parsing.check_text(data, name=self.field_name or "text")
        except parsing.ParseError as error:
            raise serializers.ValidationError(error.message) from None
        return super().to_internal_value(data)


class ClinicalDateTimeField(serializers.DateTimeField):
    """A clinical time: a date alone is refused; with an offset it is exact; without one it
    is read in the clinic's zone, where the repeated hour when the clocks go back must be
    sent with its offset (the message says both)."""

    def to_internal_value(self, value):
        name = self.field_name or "time"
        if not isinstance(value, str) or "T" not in value.upper() and " " not in value.strip():
            raise serializers.ValidationError(
                parsing.NO_OFFSET_DATE_ONLY.format(name=name)
                if isinstance(value, str) and len(value.strip()) == 10
                else DATETIME_FORMAT.format(name=name)
            )
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise serializers.ValidationError(DATETIME_FORMAT.format(name=name)) from None
        try:
            parsing.check_time_range(parsed, name=name)
            if parsed.tzinfo is not None:
                return parsed
            return parsing.make_clinic_aware(parsed, timezone.get_current_timezone(), name=name)
        except parsing.AmbiguousTimeError as error:
            raise serializers.ValidationError(
                f"{error.message} Send the time with its offset to say which."
            ) from None
        except parsing.ParseError as error:
            raise serializers.ValidationError(error.message) from None
