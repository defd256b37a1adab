"""The .xls files Bitrix24 and older CRMs write are HTML tables: read the largest one as rows."""

from __future__ import annotations

from html.parser import HTMLParser


class _TableParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str | None]]] = []
        self._stack: list[list[list[str | None]]] = []
        self._row: list[str | None] | None = None
        self._cell: list[str] | None = None
        self._span = 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._stack.append([])
        elif tag == "tr" and self._stack:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            span = dict(attrs).get("colspan") or "1"
            self._span = int(span) if span.isdigit() else 1
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

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def read_html_rows(text: str) -> list[list[str | None]]:
    """Rows of the table with the most rows (cells as stripped text, empty -> None)."""
    parser = _TableParser()
    parser.feed(text)
    parser.close()
    while parser._stack:  # unclosed <table>: keep what was read
        parser.tables.append(parser._stack.pop())
    if not parser.tables:
        return []
    rows = max(parser.tables, key=len)
    width = max((len(r) for r in rows), default=0)
    return [r + [None] * (width - len(r)) for r in rows]
