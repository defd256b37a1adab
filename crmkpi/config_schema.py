"""The shape of crmkpi.toml: every section and key with its type and range, checked at load.

One declaration per key: adding a key is one line in its section below. A key the schema does not
know is an error with the closest known key ("did you mean"), so a misspelt `amountt` or
`delimeter` cannot pass silently; a value of the wrong type, out of range, NaN, or naming an
unknown time zone is an error naming the key. Deeper meaning (KPI ids in targets, stage names)
is checked where it is used.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmkpi.errors import ConfigError

Check = Callable[[Any, str], str | None]  # (value, dotted key) -> problem, or None when fine


def _type_name(value: Any) -> str:
    names = {bool: "true/false", int: "an integer", float: "a number", str: "a string",
             list: "a list", dict: "a table"}  # fmt: skip
    return names.get(type(value), type(value).__name__)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{_type_name(value)}"


def text(*choices: str, noun: str | None = None) -> Check:
    """A string, one of `choices` when given (`noun` names what a wrong one is not)."""

    def check(value: Any, key: str) -> str | None:
        if not isinstance(value, str):
            return f"must be a string, got {_shown(value)}"
        if choices and value.lower() not in choices:
            if noun:
                return f"{_shown(value)} is not {noun} (known: {', '.join(choices)})"
            return f"must be one of {', '.join(choices)}, got {_shown(value)}"
        return None

    return check


def texts() -> Check:
    """A string or a list of strings."""

    def check(value: Any, key: str) -> str | None:
        if isinstance(value, str):
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"must be a list of strings, got {_shown(value)}"
        return None

    return check


def number(
    low: float | None = None,
    high: float | None = None,
    *,
    above: bool = False,
    integer: bool = False,
    off: bool = False,
) -> Check:
    """A finite number in [low, high] (`above`: strictly above low); `off`: false allowed."""

    def check(value: Any, key: str) -> str | None:
        if off and value is False:
            return None
        kind = "an integer" if integer else "a number"
        if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
            return f"must be {kind}{' or false' if off else ''}, got {_shown(value)}"
        if not math.isfinite(value):
            return f"must be a finite number, got {value!r}"
        too_low = low is not None and (value <= low if above else value < low)
        if high is not None and (too_low or value > high):
            return f"must be between {low:g} and {high:g}, got {value!r}"
        if too_low:
            return f"must be {'above' if above else 'at least'} {low:g}, got {value!r}".replace(
                "at least 0,", "0 or more,"
            )
        return None

    return check


def flag() -> Check:
    def check(value: Any, key: str) -> str | None:
        return None if isinstance(value, bool) else f"must be true or false, got {_shown(value)}"

    return check


def time_zone() -> Check:
    def check(value: Any, key: str) -> str | None:
        if not isinstance(value, str):
            return f"must be a time zone name, got {_shown(value)}"
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)
        except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError
            return f"unknown time zone {value!r} (an IANA name such as Europe/Athens or UTC)"
        return None

    return check


def encoding_name() -> Check:
    def check(value: Any, key: str) -> str | None:
        import codecs

        if not isinstance(value, str):
            return f"must be an encoding name, got {_shown(value)}"
        try:
            codecs.lookup(value)
        except LookupError:
            return f"unknown encoding {value!r} (e.g. utf-8, cp1251, utf-16)"
        return None

    return check


def delimiter() -> Check:
    def check(value: Any, key: str) -> str | None:
        if not isinstance(value, str):
            return f"must be one character, got {_shown(value)}"
        if value in ("\\t", "tab") or len(value.encode("utf-8")) == 1:
            return None
        return f"must be one one-byte character such as , ; | or tab, got {_shown(value)}"

    return check


def anything() -> Check:
    return lambda value, key: None


@dataclass(frozen=True)
class Section:
    """A table with known keys (`keys`), or with free keys each checked by `each`."""

    keys: dict[str, Check | Section] = field(default_factory=dict)
    each: Check | Section | None = None
    unknown: str | None = None  # what an unknown key is not ("a period"), when that says more
    example: str | None = None  # a line that shows the form, for the hint
    key_check: Callable[[str, str, dict[str, Any]], str | None] | None = None


def _column_key(name: str, key: str, source: dict[str, Any]) -> str | None:
    """A `columns` key must be a canonical column of the source's table (of any table when
    the table is detected), so `amountt = "Amount"` is not silently unused."""
    from crmkpi.schema import HELPER_PREFIX, TABLES  # polars: only when columns are mapped

    if name.startswith(HELPER_PREFIX):
        return None
    table = source.get("table") or (key.split(".")[1] if key.split(".")[1] in TABLES else None)
    known = sorted(TABLES[table].names) if table in TABLES else sorted(
        {c for spec in TABLES.values() for c in spec.names}
    )  # fmt: skip
    if name in known:
        return None
    close = difflib.get_close_matches(name, known, n=1)
    where = f"table {table}" if table in TABLES else "any table"
    return f"{name!r} is not a column of {where}" + (
        f", did you mean {close[0]!r}?" if close else ""
    )


_TABLE_NAMES = ("deals", "stage_history", "leads", "activities", "spend", "subscriptions", "nps")
_PERIODS = ("day", "week", "month", "quarter", "year")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

SOURCE = Section(
    {
        "path": text(),
        "table": text(*_TABLE_NAMES, noun="a canonical table"),
        "preset": text(),
        "sheet": text(),
        "columns": Section(each=text(), key_check=_column_key),
        "values": Section(each=text(), key_check=_column_key),  # crmkpi.config SOURCE_FILL_KEYS
        "links": Section(each=text(), key_check=_column_key),
        "parse": Section(
            {
                "encoding": encoding_name(),
                "delimiter": delimiter(),
                "header_row": number(1, integer=True),
                "decimal": text(".", ","),
                "date_order": text("dmy", "mdy", "ymd"),
                "calendar": text("gregorian", "jalali"),
            }
        ),
    }
)

SCHEMA = Section(
    {
        "title": text(),
        "sources": Section(each=SOURCE),
        "stages": Section(
            {
                "order": texts(),
                "won": texts(),
                "lost": texts(),
                "probability": Section(each=number(0, 1)),
                "stuck_days": Section(each=number(0)),
            }
        ),
        "periods": Section(
            {
                "week_start": text(*_WEEKDAYS),
                "fiscal_year_start_month": number(1, 12, integer=True),
                "calendar": text("gregorian", "jalali"),
            }
        ),
        "currency": Section({"base": text(), "rates_file": text()}),
        "leads": Section(
            {
                "response_sla_minutes": number(0, above=True),
                "working_hours": Section(
                    {
                        "start": text(),
                        "end": text(),
                        "days": texts(),
                        "timezone": time_zone(),
                        "data_timezone": time_zone(),
                        "holidays": text(),
                        "subdivision": text(),
                    }
                ),
            }
        ),
        "economics": Section(
            {
                "gross_margin": number(0, 1, above=True),
                "sales_channels": texts(),
                "marketing_channels": texts(),
            }
        ),
        "quota": Section(
            {period: number(0) for period in _PERIODS}, unknown="a period", example="month = 120000"
        ),
        "targets": Section(each=anything()),  # KPI ids and target forms: crmkpi.reporting.targets
        "alerts": Section(
            {
                "change_threshold": number(0, off=True),
                "change_threshold_by_kpi": Section(each=number(0, off=True)),
                "max_file_age_days": number(0, off=True),
                "max_rejected_share": number(0, 1, off=True),
                "no_data_period": anything(),  # its choices: crmkpi.config
                "min_rows": number(0, integer=True),
            }
        ),
        "history": Section({"path": text()}),
        "duplicates": Section({"rule": text("newer", "keep", "refuse")}),
        "cache": Section({"enabled": flag(), "dir": text(), "full_hash_max_mb": number(0)}),
        "limits": Section(
            {
                "max_cells": number(1, integer=True),
                "max_columns": number(1, integer=True),
                "max_workbook_mb": number(0, above=True),
                "max_stream_mb": number(0, above=True),
                "stream_timeout_seconds": number(0, above=True),
            }
        ),
    }
)


def validate(raw: dict[str, Any], path: Path) -> None:
    """Raise ConfigError (file and key in one line) at the first value the schema refuses."""
    _check_section(SCHEMA, raw, "", path)


def _check_section(
    section: Section, value: Any, key: str, path: Path, parent: dict[str, Any] | None = None
) -> None:
    if not isinstance(value, dict):
        raise ConfigError(
            f"{f'[{key}]' if '.' not in key else key} must be a table, got {_shown(value)}",
            path=str(path),
            hint=f"[{key}] with one key per line, or {key.rsplit('.', 1)[-1]} = {{ ... }}",
        )
    for name, item in value.items():
        dotted = f"{key}.{name}" if key else name
        if section.key_check is not None:
            problem = section.key_check(name, key, parent or {})
            if problem:
                raise ConfigError(f"{dotted}: {problem}", path=str(path))
        spec = section.keys.get(name, section.each)
        if spec is None:
            raise _unknown(name, dotted, section, key, path)
        if isinstance(spec, Section):
            _check_section(spec, item, dotted, path, value)
            continue
        problem = spec(item, dotted)
        if problem:
            raise ConfigError(f"{dotted} {problem}", path=str(path))


def _unknown(name: str, dotted: str, section: Section, key: str, path: Path) -> ConfigError:
    known = list(section.keys)
    close = difflib.get_close_matches(name, known, n=1)
    where = f"[{key}]" if key else "the top level"
    what = f"{dotted} is not {section.unknown}" if section.unknown else f"unknown key {dotted}"
    return ConfigError(
        what + (f", did you mean {close[0]!r}?" if close else ""),
        path=str(path),
        hint=f"known in {where}: {', '.join(known)}"
        + (f"; e.g. {section.example}" if section.example else ""),
    )
