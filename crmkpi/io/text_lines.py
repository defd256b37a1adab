"""Line ends and encodings of delimited text, decided for the file and checked line by line.

Excel's "CSV (Macintosh)" ends lines with CR alone, and files pasted together mix CRLF, LF and
CR; the CSV reader knows LF (and CRLF) only, so every line end becomes LF first.

An export is one encoding, but a file appended to by two programs is not: one Latin-1 line in a
UTF-8 file is not a reason to read the whole file as cp1251. The file's encoding is the one most
of its non-ASCII lines fit; a line that does not fit it is read in the encoding it does fit and
flagged (repaired and flagged, never dropped), so the row is kept and the odd line is counted.
"""

from __future__ import annotations

import codecs
import io
import re
from dataclasses import dataclass, field

from crmkpi.io.sniff import sniff_encoding

# a well-formed multi-byte UTF-8 sequence; legacy code pages rarely form one by chance
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
MAX_MESSAGE_CHARS = 200
TRANSCODE_CHUNK_BYTES = 4 << 20


def transcode(data: bytes, encoding: str) -> bytes:
    """`data` written in `encoding` -> UTF-8 without a byte order mark, decoded a few MB at a
    time: the whole file never lives as one Python str (four bytes a character for Greek,
    Cyrillic or Arabic text). A byte the encoding cannot read raises UnicodeDecodeError at its
    place in the file, as decoding the whole at once would."""
    decoder = codecs.getincrementaldecoder(encoding)()
    out = io.BytesIO()
    view = memoryview(data)
    for start in range(0, max(len(data), 1), TRANSCODE_CHUNK_BYTES):
        pending = len(decoder.getstate()[0])  # bytes of a character cut by the last chunk
        final = start + TRANSCODE_CHUNK_BYTES >= len(data)
        try:
            text = decoder.decode(view[start : start + TRANSCODE_CHUNK_BYTES], final=final)
        except UnicodeDecodeError as exc:
            base = start - pending
            raise UnicodeDecodeError(
                exc.encoding, data, base + exc.start, base + exc.end, exc.reason
            ) from None
        if start == 0 and text.startswith("\ufeff"):
            text = text[1:]
        out.write(text.encode("utf-8"))
    return out.getvalue()


def normalise_line_ends(data: bytes) -> bytes:
    """CR-only and mixed line ends -> LF (CRLF alone is left: the reader knows it).

    A lone CR is a line end when the text between it and the neighbouring line ends holds as
    many delimiters (outside quotes) as the header does; otherwise it is a stray character
    pasted into a cell, and stays for the cell cleaning to remove.
    """
    if b"\r" not in data:  # a search for one byte runs at memory speed; counting does not
        return data
    if data.count(b"\r") == data.count(b"\r\n"):
        return data
    text = data.replace(b"\r\n", b"\n")
    header = _unquoted(re.split(rb"[\r\n]", text, maxsplit=1)[0])
    delimiter = max(b",;\t|", key=header.count).to_bytes(1, "big")
    width = header.count(delimiter)

    def split_records(found: re.Match[bytes]) -> bytes:
        pieces = found.group(0).split(b"\r")
        if all(_unquoted(p).count(delimiter) == width for p in pieces if p):
            return b"\n".join(pieces)
        return found.group(0)

    return re.sub(rb"[^\n]*\r[^\n]*", split_records, text)


def _unquoted(line: bytes) -> bytes:
    return re.sub(rb'"[^"]*"', b"", line) if b'"' in line else line


@dataclass
class DecodedText:
    """The file as UTF-8, its encoding, and the lines read in another (1-based -> encoding)."""

    utf8: bytes
    encoding: str
    odd_lines: dict[int, str] = field(default_factory=dict)


def decode_by_lines(data: bytes, sniffed: str) -> DecodedText:
    """`data` (ASCII-compatible, not valid UTF-8 as a whole) decoded line by line.

    `sniffed` is the legacy code page the whole file was taken for. When most non-ASCII lines
    are valid UTF-8 the file is UTF-8 and the rest are read in `sniffed`'s family; otherwise the
    file is `sniffed` and its UTF-8 lines are read as UTF-8. Either way the minority is flagged.
    """
    if not _UTF8_SEQUENCE.search(data):
        return DecodedText(transcode(data, sniffed), sniffed)
    lines = data.split(b"\n")
    utf8_lines: list[int] = []
    other_lines: list[int] = []
    for i, line in enumerate(lines):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8_lines.append(i)
        except UnicodeDecodeError:
            other_lines.append(i)
    if len(utf8_lines) >= len(other_lines):
        main, odd, odd_codec = "utf-8", other_lines, _legacy_for([lines[i] for i in other_lines])
    else:
        main, odd, odd_codec = sniffed, utf8_lines, "utf-8"
    if main != "utf-8" and not odd:
        return DecodedText(transcode(data, sniffed), sniffed)
    for i in odd:
        lines[i] = lines[i].decode(odd_codec).encode("utf-8")
    if main != "utf-8":
        odd_set = set(odd)
        lines = [
            line if i in odd_set or line.isascii() else line.decode(main).encode("utf-8")
            for i, line in enumerate(lines)
        ]
    return DecodedText(b"\n".join(lines), main, {i + 1: odd_codec for i in odd})


def _legacy_for(lines: list[bytes]) -> str:
    """The code page the non-UTF-8 lines read best in (the detector's pick, else cp1252)."""
    sample = b"\n".join(lines)
    # a line or two is too little for the detector (it reads "Jürgen Weiß" as cp1251): the
    # Western code page of Excel is the likely writer of a stray line
    codec = sniff_encoding(sample) if len(sample) >= 2048 else "cp1252"
    try:
        for line in lines:
            line.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return "latin-1"  # every byte is a Latin-1 character: nothing is lost
    return codec


def short(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """A message from a reader cut to one readable line: a 50 MB cell is not echoed back."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else f"{flat[: limit - 1]}…"
