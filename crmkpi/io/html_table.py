"""The .xls files Bitrix24 and older CRMs write are HTML tables: read the largest one as rows."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from crmkpi.io.limits import DEFAULT_LIMITS, Limits, check_table_span


class _TableParser(HTMLParser):
    def __init__(self, path: Path | str, limits: Limits) -> None:
        super().__init__(convert_charrefs=True)
        self._path = path
        self._limits = limits
        self._cells: list[int] = []  # cells per open table, colspans counted
        self.tables: list[list[list[str | None]]] = []
        self._stack: list[list[list[str | None]]] = []
        self._row: list[str | None] | None = None
        self._cell: list[str] | None = None
        self._span = 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._stack.append([])
            self._cells.append(0)
        elif tag == "tr" and self._stack:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            span = (dict(attrs).get("colspan") or "1").strip()
            self._span = int(span) if span.isdigit() and span.isascii() else 1
            # checked before any padding is made: a colspan of 5,000,000 would build the row
            if self._stack and self._cells:
                self._cells[-1] += self._span
                width = len(self._row) + self._span
                check_table_span(self._path, len(self._stack[-1]) + 1, width, self._cells[-1],
                                 self._limits)  # fmt: skip
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            text = " ".join("".join(self._cell).split(" ")).strip()
            self._row.append(text or None)
            self._row.extend([None] * (self._span - 1))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._stack:
            self._stack[-1].append(self._row)
            self._row = None
        elif tag == "table" and self._stack:
            self.tables.append(self._stack.pop())
            self._cells.pop()

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def read_html_rows(
    text: str, path: Path | str = "", limits: Limits = DEFAULT_LIMITS
) -> list[list[str | None]]:
    """Rows of the table with the most rows (cells as stripped text, empty -> None)."""
    parser = _TableParser(path, limits)
    parser.feed(text)
    parser.close()
    while parser._stack:  # unclosed <table>: keep what was read
        parser.tables.append(parser._stack.pop())
    if not parser.tables:
        return []
    rows = max(parser.tables, key=len)
    width = max((len(r) for r in rows), default=0)
    check_table_span(path, len(rows), width, len(rows) * width, limits)  # the padded grid
    return [r + [None] * (width - len(r)) for r in rows]
