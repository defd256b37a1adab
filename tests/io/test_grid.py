"""Rejects name the file's own line: rows spanning lines, CRLF endings, blank lines, quotes."""

from __future__ import annotations

from pathlib import Path

from crmkpi.io.load import load

HEADER = "Deal ID,Deal Name,Stage,Amount,Created Date\n"


def _rejects(tmp_path: Path, body: str, newline: str = "\n") -> list[tuple[int, str]]:
    f = tmp_path / "deals.csv"
    f.write_bytes((HEADER + body).replace("\n", newline).encode("utf-8"))
    ds = load([f])
    # an unreadable date does not reject a deal: its cell is flagged on the file's own line
    return ds.rejects.select("row", "action").rows()


def test_a_cell_spanning_lines_pushes_later_rows_down(tmp_path: Path) -> None:
    body = (
        '1,"Acme\nsecond line\nthird line",Won,10,2024-01-01\n'  # lines 2-4
        "2,Beta,Won,20,not a date\n"  # line 5
    )
    assert _rejects(tmp_path, body) == [(5, "flagged")]


def test_one_line_per_row_with_crlf_endings(tmp_path: Path) -> None:
    body = "1,Acme,Won,10,2024-01-01\n2,Beta,Won,20,2024-01-02\n3,Gamma,Won,30,never\n"
    assert _rejects(tmp_path, body, newline="\r\n") == [(4, "flagged")]


def test_blank_lines_count_as_lines(tmp_path: Path) -> None:
    body = "1,Acme,Won,10,2024-01-01\n\n2,Beta,Won,20,later\n"
    # line 3 is the blank row (rejected), line 4 the bad date (flagged)
    assert _rejects(tmp_path, body) == [(3, "rejected"), (4, "flagged")]


def test_a_wide_line_with_quotes_is_flagged(tmp_path: Path) -> None:
    body = (
        '1,"Acme, Inc",Won,10,2024-01-01\n'  # quoted comma: 5 fields
        '2,"Beta",Ltd,Won,20,2024-01-02\n'  # 6 fields: the quotes hide no delimiter
    )
    rows = _rejects(tmp_path, body)
    assert (3, "flagged") in rows and all(r == 3 for r, _ in rows)


def test_a_file_without_final_newline(tmp_path: Path) -> None:
    body = "1,Acme,Won,10,2024-01-01\n2,Beta,Won,20,soon"
    assert _rejects(tmp_path, body) == [(3, "flagged")]
