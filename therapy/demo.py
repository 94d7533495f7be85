"""Synthetic maintenance courses and REMS records for the demo cohort (filled in by the regimen work)."""

from __future__ import annotations

from datetime import date


def seed_therapy(*, seed: int, as_of: date, progress=None) -> int:
    return 0
