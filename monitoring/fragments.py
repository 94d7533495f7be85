"""Rendered pieces of a page, cached by what they show.

The nurse worklist renders up to ten patients with every open flag (rule, evidence, forms):
about a millisecond of template work per flag on every view, for rows that rarely change.
Each row is rendered once per *content*: the cache key is a digest of every value the row's
templates read (the model rows' fields, the user's permissions, the time zone and language,
the templates' own source), so any change to a flag, a patient or a template gives a new key
and a fresh render. No timestamp or version counter has to move for the row to be right.

Two things differ per request and are not in the key: the CSRF token and the page's own
address (the forms' ``next``). The row is rendered with placeholders for both, which are
replaced (escaped) when the row is served.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import fields, is_dataclass
from functools import cache
from typing import Any

from django.contrib.auth.context_processors import PermWrapper
from django.core.cache import cache as shared_cache
from django.db.models import Model
from django.middleware.csrf import get_token
from django.template.loader import get_template, render_to_string
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Letters only: they pass through HTML escaping unchanged and never occur in a row.
CSRF_SLOT = "zqxCSRFSLOTqxz"
ADDRESS_SLOT = "zqxPAGEADDRESSSLOTqxz"
TIMEOUT_S = 6 * 3600


class _Request:
    """What the row templates read from the request: the page address (a placeholder)."""

    @staticmethod
    def get_full_path() -> str:
        return ADDRESS_SLOT


@cache
def _template_digest(names: tuple[str, ...]) -> str:
    """The templates' source, once per process: an edited template renders afresh."""
    sources = (get_template(name).template.source for name in names)
    return hashlib.sha256("\0".join(sources).encode()).hexdigest()[:16]


def _fields(value: Any) -> Any:
    """A model row as the values of its fields (and attributes set on it, such as
    ``nobody_notified``); dataclasses, lists and tuples member by member."""
    if isinstance(value, Model):
        return (
            type(value).__name__,
            sorted((k, repr(v)) for k, v in value.__dict__.items() if not k.startswith("_")),
        )
    if is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__name__,
            [(f.name, _fields(getattr(value, f.name))) for f in fields(value)],
        )
    if isinstance(value, list | tuple):
        return [_fields(v) for v in value]
    return repr(value)


def _user_part(user) -> tuple:
    return (user.pk, user.is_active, user.is_superuser, tuple(sorted(user.get_all_permissions())))


def rendered(
    request,
    template: str,
    items: Iterable[dict[str, Any]],
    *,
    includes: tuple[str, ...] = (),
) -> list[SafeString]:
    """``template`` rendered for each context in ``items`` (plain values and model rows),
    from the cache when the same content was rendered before. ``includes``: the templates it
    includes, so that editing one of them renders afresh."""
    items = list(items)
    fixed = (
        _template_digest((template, *includes)),
        _user_part(request.user),
        timezone.get_current_timezone_name(),
        translation.get_language(),
    )
    keys = [
        "fragment:"
        + hashlib.sha256(
            repr((fixed, sorted((k, _fields(v)) for k, v in item.items()))).encode()
        ).hexdigest()
        for item in items
    ]
    found = shared_cache.get_many(keys)
    missing = {}
    extra = {
        "perms": PermWrapper(request.user),
        "csrf_token": CSRF_SLOT,
        "request": _Request(),
    }
    for key, item in zip(keys, items, strict=True):
        if key not in found:
            found[key] = missing[key] = render_to_string(template, {**item, **extra})
    if missing:
        shared_cache.set_many(missing, timeout=TIMEOUT_S)
    token, address = get_token(request), escape(request.get_full_path())
    return [
        # Safe: a rendered template with two placeholders replaced by escaped values.
        mark_safe(  # noqa: S308  # nosec B308, B703
            found[key].replace(CSRF_SLOT, token).replace(ADDRESS_SLOT, address)
        )
        for key in keys
    ]
