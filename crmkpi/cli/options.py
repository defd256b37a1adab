"""Option parsing shared by several commands (dates, lists)."""

from __future__ import annotations

from datetime import datetime

from crmkpi.errors import UsageError


def parse_when(text: str | None, option: str) -> datetime | None:
    """A date or date-time given on the command line (ISO: 2025-01-31 or 2025-01-31T08:00)."""
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise UsageError(f"{option} {text!r} is not a date", hint="use YYYY-MM-DD") from exc
