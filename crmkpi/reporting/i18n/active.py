"""The language a report is being rendered in, for the code that turns the model into text.

Set once per render by `in_report_language` (crmkpi.reporting.i18n.localize) or by
`use_language`, read by `t` and by the value formatting of crmkpi.reporting.format; outside
it everything reads in English.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from crmkpi.reporting.i18n.catalog import SOURCE_LANGUAGE, Messages
from crmkpi.reporting.i18n.numbers import NumberFormat


@dataclass(frozen=True)
class ActiveLanguage:
    language: str
    messages: Messages
    numbers: NumberFormat | None  # None: English with Latin digits, the tool's own formatting


_ACTIVE: ContextVar[ActiveLanguage | None] = ContextVar("crmkpi_report_language", default=None)


@functools.cache
def _settings(language: str, digits: str) -> ActiveLanguage:
    plain = language == SOURCE_LANGUAGE
    numbers = None if plain else NumberFormat(language, digits)
    return ActiveLanguage(language, Messages(language), numbers)


@contextmanager
def use_language(language: str = SOURCE_LANGUAGE, digits: str = "native") -> Iterator[None]:
    token = _ACTIVE.set(_settings(language, digits))
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def active_language() -> str:
    active = _ACTIVE.get()
    return active.language if active else SOURCE_LANGUAGE


def number_format() -> NumberFormat | None:
    """The active locale's number conventions; None for English (the tool's own format)."""
    active = _ACTIVE.get()
    return active.numbers if active else None


def t(msgid: str, context: str | None = None, **params: Any) -> str:
    """`msgid` in the active language; named placeholders ({value}) filled with `params`,
    already formatted by the caller."""
    active = _ACTIVE.get()
    text = active.messages.text(msgid, context) if active else msgid
    return text.format(**params) if params else text


def upper(text: str) -> str:
    """A heading in capitals: Greek capitals drop their accents (ΒΑΣΙΚΑ ΜΕΓΕΘΗ, not
    ΒΑΣΙΚΆ ΜΕΓΈΘΗ), keeping the diaeresis."""
    capitals = text.upper()
    if active_language() != "el":
        return capitals
    decomposed = unicodedata.normalize("NFD", capitals).replace("\u0301", "")
    return unicodedata.normalize("NFC", decomposed)
