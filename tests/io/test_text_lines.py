"""Line ends and per-line encodings (crmkpi.io.text_lines), as invariants over generated files."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkpi.io import text_lines
from crmkpi.io.text_lines import decode_by_lines, normalise_line_ends, transcode

# records of a 3-column file: no quotes, no line breaks, no delimiter inside a field
FIELD = st.text(
    st.characters(blacklist_characters=',"\r\n', blacklist_categories=("Cs",)), max_size=8
)
RECORD = st.lists(FIELD, min_size=3, max_size=3).map(",".join)
LINE_END = st.sampled_from(["\n", "\r\n", "\r"])


@given(st.lists(st.tuples(RECORD, LINE_END), min_size=1, max_size=30))
def test_any_mix_of_line_ends_gives_the_same_records(rows: list[tuple[str, str]]) -> None:
    """Every record ends with LF, CRLF or CR, in any mix: after normalising, splitting on LF
    gives back exactly the records (the header is the first record, with 2 commas)."""
    data = "".join(record + end for record, end in rows).encode("utf-8")
    lines = normalise_line_ends(data).split(b"\n")
    if lines[-1] in (b"", b"\r"):
        lines.pop()
    assert [line.rstrip(b"\r") for line in lines] == [r.encode("utf-8") for r, _ in rows]


NAME = st.text(st.sampled_from("abcdefghijüßéöñ"), min_size=1, max_size=10)


@given(st.lists(NAME, min_size=3, max_size=30), st.data())
def test_a_minority_of_latin1_lines_in_utf8_is_read_back_and_flagged(
    names: list[str], data: st.DataObject
) -> None:
    """Lines written in UTF-8 except fewer than half in Latin-1 (each with a non-ASCII letter):
    the file is UTF-8, every line reads back as written, and exactly the Latin-1 lines are
    flagged (1-based)."""
    non_ascii = [i for i, n in enumerate(names) if not n.isascii()]
    latin = set(data.draw(st.lists(st.sampled_from(non_ascii), max_size=len(non_ascii) // 2 - 1))
                if len(non_ascii) >= 3 else [])  # fmt: skip
    encoded = [n.encode("latin-1" if i in latin else "utf-8") for i, n in enumerate(names)]
    decoded = decode_by_lines(b"\n".join(encoded), "cp1252")
    if latin:
        assert decoded.encoding == "utf-8"
    assert decoded.utf8.decode("utf-8").split("\n") == names
    assert set(decoded.odd_lines) == {i + 1 for i in latin}


ENCODINGS = ["utf-16", "utf-16-le", "utf-16-be", "cp1251", "cp1253", "cp1256", "latin-1"]


@given(
    st.sampled_from(ENCODINGS),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=60),
    st.integers(1, 9),
)
def test_transcoding_in_chunks_equals_decoding_the_whole(
    encoding: str, text: str, chunk: int
) -> None:
    """Chunks of a few bytes cut characters of two and four bytes in half: the UTF-8 is still
    the one decoding the whole file at once gives (its byte order mark dropped)."""
    data = text.encode(encoding, errors="ignore")
    old = text_lines.TRANSCODE_CHUNK_BYTES
    text_lines.TRANSCODE_CHUNK_BYTES = chunk
    try:
        got = transcode(data, encoding)
    finally:
        text_lines.TRANSCODE_CHUNK_BYTES = old
    assert got == data.decode(encoding).removeprefix("\ufeff").encode("utf-8")


def test_transcoding_names_the_bad_bytes_place_in_the_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # "abc" is bytes 0-5; a lone high surrogate (D800, little-endian 00 D8) is bytes 6-7
    data = "abc".encode("utf-16-le") + b"\x00\xd8" + "x".encode("utf-16-le")
    monkeypatch.setattr(text_lines, "TRANSCODE_CHUNK_BYTES", 5)  # the error is in chunk 2
    with pytest.raises(UnicodeDecodeError) as caught:
        transcode(data, "utf-16-le")
    assert (caught.value.start, caught.value.end) == (6, 8)
    assert "position 6-7" in str(caught.value)
