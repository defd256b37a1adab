"""Facts about record ids that spare hashing them: a million text ids cost a comparison each
to check in order, where a group-by or join hashes and stores every one."""

from __future__ import annotations

import polars as pl


def ascending(ids: pl.Expr) -> pl.Expr:
    """Whether the ids strictly ascend, as text or as numbers (shorter first, then as text),
    with none missing: then no id comes twice. (Any total order will do; these two are how
    exports sort ids.)"""
    before = ids.shift(1)
    size = ids.str.len_bytes()
    size_before = size.shift(1)
    greater = ids > before
    as_number = (size > size_before) | ((size == size_before) & greater)
    return (ids.null_count() == 0) & (greater.all() | as_number.all())


def plain_integers(ids: pl.Expr) -> pl.Expr:
    """Whether every id is an integer written the one way Int64 writes it back: distinct such
    ids cast to distinct numbers, so a join on the numbers matches as one on the text does."""
    # What the cast accepts beside that spelling: a plus sign, leading zeros, minus zero.
    other_spelling = (
        ids.str.starts_with("+")
        | ids.str.starts_with("-0")
        | (ids.str.starts_with("0") & (ids != "0"))
    )
    cast = ids.cast(pl.Int64, strict=False)
    return (cast.null_count() == ids.null_count()) & ~other_spelling.any()
