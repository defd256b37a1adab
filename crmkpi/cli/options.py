"""Options shared by several commands: their declarations and the parsing of their values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import typer

from crmkpi.cli.completion import complete_paths
from crmkpi.errors import UsageError


def parse_when(text: str | None, option: str) -> datetime | None:
    """A date or date-time given on the command line (ISO: 2025-01-31 or 2025-01-31T08:00)."""
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise UsageError(f"{option} {text!r} is not a date", hint="use YYYY-MM-DD") from exc


# Options several commands share, declared once so their names and help stay the same everywhere.
def paths_argument() -> Any:
    return typer.Argument(
        None,
        metavar="PATH",
        help="Export files or folders (default: config sources).",
        autocompletion=complete_paths,
    )


def config_option() -> Any:
    return typer.Option(None, "--config", "-c", help="crmkpi.toml (default: ./crmkpi.toml).")


def strict_option() -> Any:
    return typer.Option(False, "--strict", help="Fail on the first rejected value.")


def since_option() -> Any:
    return typer.Option(None, "--since", help="Window start (YYYY-MM-DD), inclusive.")


def calendar_option() -> Any:
    return typer.Option(
        None,
        "--calendar",
        help="Months, quarters and years of this calendar: gregorian or jalali "
        "(default: [periods] calendar, else gregorian).",
    )


def as_of_option() -> Any:
    return typer.Option(
        None,
        "--as-of",
        help="When the exports were taken (YYYY-MM-DD or a time); default: the latest recorded "
        "event in them. Ages, overdue deals and active subscriptions are measured at it.",
    )


def until_option() -> Any:
    return typer.Option(None, "--until", help="Window end (YYYY-MM-DD), exclusive.")


def table_format_option() -> Any:
    return typer.Option(
        None, "--format", "-f", help="terminal, csv, json or markdown (default: from --out)."
    )


def table_out_option() -> Any:
    return typer.Option(None, "--out", "-o", help="Write to this file (atomically).")
