"""safe_text: the one place text from the data is made inert, checked on any text at all."""

from __future__ import annotations

import io
import re

import polars as pl
from hypothesis import given
from hypothesis import strategies as st
from rich.table import Table
from rich.text import Text

from crmkpi.reporting.safe_text import (
    csv_frame,
    csv_text,
    markdown_text,
    terminal_console,
    terminal_line,
    xlsx_text,
)

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@given(st.lists(st.text(max_size=12), min_size=1, max_size=8))
def test_polars_and_python_csv_cells_agree(texts: list[str]) -> None:
    """Rejects and convert copies (Polars) and the other CSVs (Python) write the same cell."""
    frame = csv_frame(pl.DataFrame({"text": texts}))
    assert frame["text"].to_list() == [csv_text(t) for t in texts]


@given(st.text(max_size=20))
def test_xlsx_text_is_legal_and_flags_formulas(text: str) -> None:
    cell, quote = xlsx_text(text)
    assert CONTROLS.search(cell) is None  # what openpyxl refuses
    assert quote == cell.startswith(FORMULA_START)


def test_the_tempting_rule_of_checking_before_cleaning_is_not_used() -> None:
    # "\x00=1+1" does not start with "=", but once the NUL is gone it does.
    assert csv_text("\x00=1+1") == "'=1+1"
    assert xlsx_text("\x1b@SUM(A1)") == ("@SUM(A1)", True)


@given(st.text(max_size=30))
def test_terminal_console_prints_any_text_without_control_or_markup(text: str) -> None:
    console = terminal_console(file=io.StringIO(), width=60, color_system=None)
    table = Table()
    table.add_column("owner")
    table.add_row(text)
    console.print(table)
    console.print(text)
    printed = console.file.getvalue()
    assert re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", printed) is None


def test_terminal_line_is_one_line_with_escapes_visible() -> None:
    assert terminal_line("a\x1b]0;t\x07\nb") == "a\\x1b]0;t\\x07\\x0ab"


def test_markdown_text_escapes_html_links_and_table_breaks() -> None:
    assert markdown_text("<b>[x](javascript:y)|z\n") == "\\<b>\\[x\\](javascript:y)\\|z "


# Bidi controls a name from the data may carry ("Trojan Source"): right-to-left override, the
# embeddings and their pop, and the isolates.
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def _printed(text: str, isolate_latin: bool) -> str:
    console = terminal_console(file=io.StringIO(), width=80, record=True, color_system=None)
    console.isolate_latin = isolate_latin
    console.print(Text(text))  # as the report prints it: no highlighting splits the text
    return console.export_text()


def test_bidi_overrides_from_the_data_are_dropped() -> None:
    # "Ana\u202eecnalab" would show as "Anabalance" reversed after the override: it goes.
    assert _printed("Ana\u202eecnalab", isolate_latin=False) == "Anaecnalab\n"
    assert _printed("x\u2066y\u2069\u202bz", isolate_latin=False) == "xyz\n"


def test_a_right_to_left_report_isolates_its_latin_runs_itself() -> None:
    # The data's own override is dropped first; the report then wraps each Latin run (a name,
    # a file with its table) in LRI ... PDI, and leaves Persian text and digits alone.
    printed = _printed("کارشناس Ana\u202e Ruiz: ۳۵ (deals.csv)", isolate_latin=True)
    assert printed == "کارشناس \u2066Ana Ruiz\u2069: ۳۵ \u2066(deals.csv)\u2069\n"


@given(st.text(alphabet=st.sampled_from("ab ۱۲ کت-(),.:" + BIDI_CONTROLS), max_size=30))
def test_isolates_in_the_output_are_the_reports_own_and_balanced(text: str) -> None:
    printed = _printed(text, isolate_latin=True)
    assert not set(printed) & set(BIDI_CONTROLS) - {"\u2066", "\u2069"}
    for line in printed.splitlines():
        depth = 0
        for char in line:
            depth += {"\u2066": 1, "\u2069": -1}.get(char, 0)
            assert depth in (0, 1)
        assert depth == 0
