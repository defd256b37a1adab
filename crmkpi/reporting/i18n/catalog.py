"""Message catalogs: English text is the message id; each language is one .po file here.

A KPI label is looked up by its KPI id (the .po entry's msgctxt) with the English label as
msgid, so a label reworded in English shows up as missing until it is translated again.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from crmkpi.errors import UsageError

CATALOGS = Path(__file__).with_name("catalogs")
SOURCE_LANGUAGE = "en"
RTL_LANGUAGES = frozenset({"fa", "ar", "he", "ur"})
DIGITS = ("native", "latin")


def shipped_languages() -> tuple[str, ...]:
    """English, then every language with a catalog file (a new language is one file)."""
    return (SOURCE_LANGUAGE, *sorted(p.stem for p in CATALOGS.glob("*.po")))


LANGUAGES = shipped_languages()


def is_rtl(language: str) -> bool:
    return language in RTL_LANGUAGES


def resolve_language(value: str | None, environ: dict[str, str] | None = None) -> str:
    """A language code from --lang or `[report] language`: `auto` reads the locale the way
    gettext does (LC_ALL, then LC_MESSAGES, then LANG); an unshipped locale falls back to
    English, an unshipped explicit choice is a usage error."""
    if value is None or value == "":
        return SOURCE_LANGUAGE
    code = value.strip().lower().replace("-", "_")
    if code == "auto":
        env = os.environ if environ is None else environ
        for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
            setting = env.get(name, "")
            if setting:
                found = setting.split(".")[0].split("@")[0].split("_")[0].lower()
                return found if found in LANGUAGES else SOURCE_LANGUAGE
        return SOURCE_LANGUAGE
    code = code.split("_")[0]
    if code not in LANGUAGES:
        raise UsageError(
            f"no report language {value!r}", hint=f"use auto or one of {', '.join(LANGUAGES)}"
        )
    return code


class Messages:
    """Translations of one language; a message without one reads in English."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.table = _read_catalog(language) if language != SOURCE_LANGUAGE else {}

    def text(self, msgid: str, context: str | None = None) -> str:
        return self.table.get((context, msgid)) or msgid

    def has(self, msgid: str, context: str | None = None) -> bool:
        return bool(self.table.get((context, msgid)))


@functools.cache
def _read_catalog(language: str) -> dict[tuple[str | None, str], str]:
    # Babel is imported here: `crmkpi --help` and English reports never need it.
    from babel.messages.pofile import read_po

    path = CATALOGS / f"{language}.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    return {
        (message.context, str(message.id)): str(message.string)
        for message in catalog
        if message.id and message.string and not message.fuzzy
    }
