"""Text from the data made inert for each output: the one place every renderer takes it from.

Exports come from strangers and CRMs keep whatever was pasted in: a vertical tab from Outlook,
a NUL, an escape sequence that clears a screen or retitles a window, `=1+1` that a spreadsheet
would run, `<script>` that a Markdown viewer would, rich markup such as `[link=...]`.

- spreadsheets (CSV, XLSX): control characters removed (a vertical tab or form feed becomes a
  line break), and a cell a spreadsheet would read as a formula (= + - @ or a line control
  first, the OWASP rule) gets a leading apostrophe (CSV) or Excel's quote prefix (XLSX);
- Markdown: table breaks, raw HTML, links and images shown as text (backslash escapes);
- HTML: escaped, control characters removed (XML does not allow them);
- terminal: consoles made here parse no markup and drop control characters from every piece
  of text they print (the tool's own colours are added after); plain text (errors, alerts,
  explain, inspect) shows control characters as visible escapes such as `\\x1b`. Bidi
  embeddings, overrides and isolates from the data (U+202A-U+202E, U+2066-U+2069, the
  "Trojan Source" characters that reorder what a reader sees) are dropped; a right-to-left
  report then isolates its Latin runs itself (`isolate_latin`).
"""

from __future__ import annotations

import functools
import re
from html import escape
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
# C0 controls but tab, line feed and carriage return; DEL; C1 controls. openpyxl refuses the
# C0 ones (IllegalCharacterError); terminals obey ESC and the C1 CSI/OSC introducers.
# Written as regex escapes, so Python's re and Polars (Rust regex) read the same text.
_CONTROL_CLASS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
_PAGE_BREAK_CLASS = r"[\x0b\x0c]"  # vertical tab, form feed: line breaks in spreadsheets
_CONTROL = re.compile(_CONTROL_CLASS)
_FORMULA_PATTERN = "^[" + re.escape("".join(FORMULA_START)) + "]"  # the same, for Polars
_ANY_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_TERMINAL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but tab and line feed
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
# A run of Latin letters and digits (ids, names, paths, 2026-10) with the punctuation inside it.
_LATIN = r"0-9A-Za-z\u00c0-\u024f"
_LATIN_RUN = re.compile(rf"[(\[\-]*[{_LATIN}](?:[{_LATIN}.,:;/\\_@#%+'()\[\] -]*[{_LATIN})\]%])?")
LRI, PDI = "\u2066", "\u2069"
_PAGE_BREAKS = str.maketrans({"\x0b": "\n", "\x0c": "\n"})
_MARKDOWN = str.maketrans({ch: "\\" + ch for ch in "\\|<[]`"})


def without_controls(text: str) -> str:
    """`text` with control characters removed; a vertical tab or form feed is a line break."""
    text = text.translate(_PAGE_BREAKS)
    return _CONTROL.sub("", text) if _CONTROL.search(text) else text


def looks_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_START)


def csv_text(value: Any) -> Any:
    """A CSV cell: text cleaned and defused; other values as they are."""
    if not isinstance(value, str):
        return value
    text = without_controls(value)
    return "'" + text if looks_like_formula(text) else text


def xlsx_text(value: str) -> tuple[str, bool]:
    """Text for an XLSX cell and whether it needs Excel's quote prefix (shown as text, kept
    as typed, never run)."""
    text = without_controls(value)
    return text, looks_like_formula(text)


def csv_frame(frame: Any) -> Any:
    """A Polars frame about to be written as CSV with every text cell as csv_text makes it;
    label columns (Categorical, Enum) become text first."""
    import polars as pl

    texts = [
        c
        for c, t in frame.schema.items()
        if t == pl.String or isinstance(t, pl.Categorical | pl.Enum)
    ]
    return frame.with_columns(_csv_expr(pl.col(c).cast(pl.String)).alias(c) for c in texts)


def _csv_expr(column: Any) -> Any:
    import polars as pl

    cleaned = column.str.replace_all(_PAGE_BREAK_CLASS, "\n").str.replace_all(_CONTROL_CLASS, "")
    formula = cleaned.str.contains(_FORMULA_PATTERN)
    return pl.when(formula).then(pl.lit("'") + cleaned).otherwise(cleaned)


def markdown_text(value: Any) -> str:
    """A Markdown table cell: no table breaks (|, line ends), no raw HTML, links, images or
    code spans (a backslash before each such character displays it as itself)."""
    text = without_controls(str(value if value is not None else ""))
    return text.translate(_MARKDOWN).replace("\r", " ").replace("\n", " ")


def html_text(value: Any, quote: bool = True) -> str:
    return escape(without_controls(str(value if value is not None else "")), quote=quote)


def terminal_line(text: str) -> str:
    """One line for a terminal or a log: every control character (line ends included) shown
    as a visible escape, so data can neither break the line nor drive the terminal."""
    if not _ANY_CONTROL.search(text):
        return text
    return _ANY_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def terminal_text(text: str) -> str:
    """Lines for a terminal: as terminal_line, but line feeds and tabs kept."""
    return _TERMINAL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def without_bidi_controls(text: str) -> str:
    return _BIDI_CONTROLS.sub("", text) if _BIDI_CONTROLS.search(text) else text


def isolate_latin(text: str) -> str:
    """Each Latin run of a right-to-left line between LRI and PDI, so an id, a name or a
    number keeps its own order inside Persian text instead of being split by the bidi
    algorithm (a bare "2026-10" or "Léa Dubois (EUR)" is reordered by its neighbours)."""
    return _LATIN_RUN.sub(lambda m: LRI + m.group() + PDI, text)


def terminal_console(**options: Any) -> Any:
    """A rich Console that reads no markup in strings (`Ann [/x] broken`, `[link=...]` print as
    written) and drops control characters from all the text it renders."""
    options.setdefault("markup", False)
    options.setdefault("emoji", False)
    return _safe_console_class()(**options)


@functools.cache
def _safe_console_class() -> type:
    # rich is imported here, not at the top: `crmkpi --help` must not pay for it.
    from rich.console import Console
    from rich.segment import Segment

    class SafeConsole(Console):
        isolate_latin = False  # a right-to-left report: wrap Latin runs in bidi isolates

        def render(self, renderable: Any, options: Any = None) -> Any:
            for segment in super().render(renderable, options):
                if segment.control:
                    yield segment
                    continue
                # Dropped, not shown: rich measured these as zero columns wide, so tables
                # stay aligned. The isolates are added after the layout, as zero-width marks.
                text = without_bidi_controls(_TERMINAL.sub("", segment.text))
                if self.isolate_latin:
                    text = isolate_latin(text)
                yield segment if text == segment.text else Segment(text, segment.style)

    return SafeConsole
