"""Format, encoding, delimiter and header row of an export, told from its content.

The extension is only a tie-breaker: Bitrix24 and older CRMs write HTML tables named .xls, Excel
"Unicode text" is UTF-16 named .txt or .csv, and a European Excel writes semicolons with a BOM.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import Counter
from functools import cache

from crmkpi.io.vocabulary import languages, normalise_header, presets

TEXT_FORMATS = ("csv",)
LEGACY_CODEPAGES = ("cp1251", "cp1253", "cp1252", "cp1256", "cp1254")
DELIMITERS = (",", ";", "\t", "|")
HEADER_SCAN_ROWS = 30


def sniff_format(data: bytes) -> str:
    """xlsx, ods, xls, html or csv, from the first bytes (and the zip directory)."""
    if data[:4] == b"PK\x03\x04":
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except zipfile.BadZipFile:
            return "zip"
        if "xl/workbook.xml" in names or any(n.startswith("xl/") for n in names):
            return "xlsx"
        if "content.xml" in names:
            return "ods"
        return "zip"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "xls"
    head = data[:4096]
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            head = head[2:].decode(codec, errors="ignore").encode("utf-8")
            break
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<table", b"<meta", b"<head")) or (
        b"<table" in lowered and b"<td" in lowered
    ):
        return "html"
    if (
        lowered.startswith(b"<?xml")
        and b"urn:schemas-microsoft-com:office:spreadsheet" in data[:8192]
    ):
        return "spreadsheetml"
    if b"\x00" in head and not _utf16_without_bom(head):
        return "binary"
    return "csv"


def _utf16_without_bom(head: bytes) -> bool:
    even = head[0::2].count(0)
    odd = head[1::2].count(0)
    return max(even, odd) > len(head) // 4 and min(even, odd) < len(head) // 50 + 1


def sniff_encoding(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, or the most likely legacy code page."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith(b"\xff\xfe"):
        return "utf-16"
    if data.startswith(b"\xfe\xff"):
        return "utf-16"
    if _utf16_without_bom(data[:4096]):
        return "utf-16-le" if data[1:4096:2].count(0) > data[0:4096:2].count(0) else "utf-16-be"
    if data.isascii():  # ASCII is UTF-8, and checking is many times cheaper than decoding
        return "utf-8"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    sample = data[:200_000]
    best = from_bytes(sample, cp_isolation=list(LEGACY_CODEPAGES)).best()
    candidates = ([best.encoding] if best else []) + list(LEGACY_CODEPAGES)
    for codec in candidates:
        try:
            text = data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        script = _SCRIPTS.get(codec.replace("_", "").lower())
        if script and not _mostly(script, text[:200_000]):
            # a Western text the detector gave to a code page whose own letters hardly show
            try:
                data.decode("cp1252")
                return "cp1252"
            except UnicodeDecodeError:
                return "latin-1"  # Western bytes cp1252 leaves undefined (DOS code pages mixed in)
        return codec
    return "latin-1"


def _mostly(script: str, text: str) -> bool:
    """Whether at least a third of the non-ASCII letters are of `script`."""
    foreign = [ch for ch in text if ord(ch) > 127 and ch.isalpha()]
    return bool(foreign) and len(re.findall(script, text)) * 3 >= len(foreign)


# The letters only a code page's own language uses: without them it is not that code page.
_SCRIPTS = {
    "cp1251": "[\u0400-\u04ff]",
    "cp1253": "[\u0370-\u03ff]",
    "cp1256": "[\u0600-\u06ff]",
    "cp1254": "[\u011e\u011f\u0130\u0131\u015e\u015f]",
}


def decode(data: bytes, encoding: str) -> str:
    text = data.decode(encoding)
    return text[1:] if text.startswith("\ufeff") else text


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter giving the most rows with the same (>1) number of fields."""
    best: tuple[tuple[bool, float, int], str] | None = None
    sample = "\n".join(lines)
    for delim in DELIMITERS:
        counts = [len(r) for r in csv.reader(io.StringIO(sample), delimiter=delim) if any(r)]
        if not counts:
            continue
        mode, freq = Counter(counts).most_common(1)[0]
        key = (mode > 1, freq / len(counts), mode)
        if best is None or key > best[0]:
            best = (key, delim)
    return best[1] if best else ","


@cache
def _known_headers() -> frozenset[str]:
    names: set[str] = set()
    for lang in languages().values():
        for cols in lang.columns.values():
            for aliases in cols.values():
                names.update(aliases)
    for preset in presets().values():
        for cols in preset.columns.values():
            for aliases in cols.values():
                names.update(aliases)
        names.update(preset.detect_headers)
    return frozenset(names)


def _is_number(cell: str) -> bool:
    return bool(re.fullmatch(r"[-+()$€£\s\d.,%]+", cell)) and any(c.isdigit() for c in cell)


def find_header_row(rows: list[list[str | None]]) -> int:
    """Index of the header among the first rows: skips report titles and filter lines.

    The header is the row naming the most known columns; without any known name, the first row
    as wide as the table whose cells are all text.
    """
    known = _known_headers()
    scan = rows[:HEADER_SCAN_ROWS]
    filled = [[c.strip() for c in r if c is not None and c.strip()] for r in scan]
    width = max((len(f) for f in filled), default=0)
    hits = [sum(normalise_header(c) in known for c in f) for f in filled]
    best = max(range(len(scan)), key=lambda i: (hits[i], -i), default=0)
    if scan and hits[best] >= 2:
        return best
    for i, cells in enumerate(filled):
        if len(cells) >= max(2, width // 2) and not any(_is_number(c) for c in cells):
            return i
    return 0
