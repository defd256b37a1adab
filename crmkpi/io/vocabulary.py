"""The data files that teach the importer: CRM presets and per-language aliases.

A preset (`presets/<crm>.toml`) lists that CRM's header names per canonical table and column,
its stage ids and labels, won/lost stages and the headers that identify its exports. An aliases
file (`aliases/<lang>.toml`) lists header words and stage/status/boolean/outcome words of one
language. Adding a CRM or a language is adding one file; nothing here names a CRM.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
PRESETS_DIR = HERE / "presets"
ALIASES_DIR = HERE / "aliases"


_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def normalise_header(text: str, *, split_camel: bool = True) -> str:
    """Split camelCase, casefold, strip accents, collapse spaces/_/-/./ runs:
    'Close_Date ' -> 'close date', 'MonthlyCharges' -> 'monthly charges'.

    Preset detection keeps camelCase whole: 'ConvertedDate' is Salesforce's API name, while
    'Converted Date' could come from any CRM.
    """
    text = str(text).strip().strip("\ufeff")
    if split_camel:
        text = _CAMEL.sub(" ", text)
    # casefold again after NFKD: compatibility forms decompose to capitals ("№" is "No")
    text = unicodedata.normalize("NFKD", text.casefold()).casefold()
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("\u0131", "i").replace("\u200c", " ")  # Turkish dotless i; Persian ZWNJ
    # Arabic yeh/kaf (what cp1256 can encode) read as the Persian letters
    text = text.replace("\u064a", "\u06cc").replace("\u0643", "\u06a9")
    text = re.sub(r"[\s_\-./:\"'`]+", " ", text)
    return text.strip()


def normalise_word(text: str) -> str:
    """Stage/status/boolean values compare like headers."""
    return normalise_header(text)


@dataclass(frozen=True)
class Preset:
    """One CRM's export conventions, read from its TOML file."""

    name: str
    label: str
    columns: dict[str, dict[str, tuple[str, ...]]]  # table -> canonical -> headers (normalised)
    detect_headers: frozenset[str] = frozenset()
    detect_min: int = 2
    table_hints: dict[str, tuple[str, ...]] = field(default_factory=dict)  # table -> file words
    table_signatures: dict[str, frozenset[str]] = field(default_factory=dict)  # table -> headers
    stage_order: tuple[str, ...] = ()
    stage_won: tuple[str, ...] = ()
    stage_lost: tuple[str, ...] = ()
    stage_labels: dict[str, str] = field(default_factory=dict)  # stage id -> label
    wide_history: tuple[str, ...] = ()  # regexes on raw headers with a (?P<stage>) group
    date_order: str | None = None
    status_values: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Language:
    """One language's header aliases and value words, read from its TOML file."""

    code: str
    columns: dict[str, dict[str, tuple[str, ...]]]
    # Shortened headers ("Ημ. δημ.", "F. creación"), tried only after every full alias.
    abbreviations: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    stage_open: tuple[str, ...] = ()
    stage_won: tuple[str, ...] = ()
    stage_lost: tuple[str, ...] = ()
    status: dict[str, tuple[str, ...]] = field(default_factory=dict)
    true_words: tuple[str, ...] = ()
    false_words: tuple[str, ...] = ()
    success_words: tuple[str, ...] = ()
    failure_words: tuple[str, ...] = ()
    footer_words: tuple[str, ...] = ()
    months: dict[str, str] = field(default_factory=dict)  # local month word -> English abbr
    jalali_months: dict[str, int] = field(default_factory=dict)  # Jalali month name -> 1..12
    date_order: str | None = None
    decimal: str | None = None


def _columns(section: dict[str, Any]) -> dict[str, dict[str, tuple[str, ...]]]:
    return {
        table: {col: tuple(normalise_header(h) for h in headers) for col, headers in cols.items()}
        for table, cols in section.items()
    }


def _words(values: Any) -> tuple[str, ...]:
    return tuple(normalise_word(v) for v in values or ())


def _read(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


@cache
def presets() -> dict[str, Preset]:
    out: dict[str, Preset] = {}
    for path in sorted(PRESETS_DIR.glob("*.toml")):
        raw = _read(path)
        stages = raw.get("stages", {})
        detect = raw.get("detect", {})
        tables = raw.get("tables", {})
        out[path.stem] = Preset(
            name=path.stem,
            label=raw.get("label", path.stem),
            columns=_columns({t: spec.get("columns", {}) for t, spec in tables.items()}),
            detect_headers=frozenset(
                normalise_header(h, split_camel=False) for h in detect.get("headers", ())
            ),
            detect_min=int(detect.get("min_score", 2)),
            table_hints={t: tuple(spec.get("file_words", ())) for t, spec in tables.items()},
            table_signatures={
                t: frozenset(normalise_header(h) for h in spec.get("signature", ()))
                for t, spec in tables.items()
            },
            stage_order=tuple(stages.get("order", ())),
            stage_won=tuple(stages.get("won", ())),
            stage_lost=tuple(stages.get("lost", ())),
            stage_labels={normalise_word(k): v for k, v in stages.get("labels", {}).items()},
            wide_history=tuple(raw.get("wide_history", {}).get("entered", ())),
            date_order=raw.get("date_order"),
            status_values={k: _words(v) for k, v in raw.get("status", {}).items()},
        )
    return out


@cache
def languages() -> dict[str, Language]:
    out: dict[str, Language] = {}
    # English first: when two languages claim a header, the English reading wins.
    for path in sorted(ALIASES_DIR.glob("*.toml"), key=lambda p: (p.stem != "en", p.stem)):
        raw = _read(path)
        stages = raw.get("stages", {})
        booleans = raw.get("booleans", {})
        outcomes = raw.get("outcomes", {})
        out[path.stem] = Language(
            code=path.stem,
            columns=_columns(raw.get("headers", {})),
            abbreviations=_columns(raw.get("abbreviations", {})),
            stage_open=_words(stages.get("open")),
            stage_won=_words(stages.get("won")),
            stage_lost=_words(stages.get("lost")),
            status={k: _words(v) for k, v in raw.get("status", {}).items()},
            true_words=_words(booleans.get("true")),
            false_words=_words(booleans.get("false")),
            success_words=_words(outcomes.get("success")),
            failure_words=_words(outcomes.get("failure")),
            footer_words=_words(raw.get("footer", {}).get("words")),
            months={k.lower(): v for k, v in raw.get("months", {}).items()},
            jalali_months=dict(raw.get("jalali_months", {})),
            date_order=raw.get("date_order"),
            decimal=raw.get("decimal"),
        )
    return out


@dataclass(frozen=True)
class Words:
    """All languages' value words merged: what means won, lost, open, true, false, success."""

    won: frozenset[str]
    lost: frozenset[str]
    open_order: tuple[str, ...]
    status_open: frozenset[str]
    status_won: frozenset[str]
    status_lost: frozenset[str]
    true: frozenset[str]
    false: frozenset[str]
    success: frozenset[str]
    failure: frozenset[str]
    footer: frozenset[str]
    months: dict[str, str]
    jalali_months: dict[str, int]


@cache
def words() -> Words:
    langs = list(languages().values())
    open_order: list[str] = []
    for lang in langs:
        open_order.extend(w for w in lang.stage_open if w not in open_order)
    months: dict[str, str] = {}
    jalali_months: dict[str, int] = {}
    for lang in langs:
        months.update(lang.months)
        jalali_months.update(lang.jalali_months)

    def merged(attr: str) -> frozenset[str]:
        return frozenset(w for lang in langs for w in getattr(lang, attr))

    def status(kind: str) -> frozenset[str]:
        return frozenset(w for lang in langs for w in lang.status.get(kind, ()))

    return Words(
        won=merged("stage_won"),
        lost=merged("stage_lost"),
        open_order=tuple(open_order),
        status_open=status("open"),
        status_won=status("won"),
        status_lost=status("lost"),
        true=merged("true_words"),
        false=merged("false_words"),
        success=merged("success_words"),
        failure=merged("failure_words"),
        footer=merged("footer_words"),
        months=months,
        jalali_months=jalali_months,
    )
