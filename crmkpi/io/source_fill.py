"""What a config says about a file that the file leaves unsaid, applied before its columns are
recognised: constant columns (`values = { status = "won" }`: a closed-won-only export) and links
(`links = { lead_id = "mql_id" }`: a header that also holds the id of a row of another table).

Both become columns of the grid named "<column> (config)" and mapped by the source, so a constant
goes through the same reading as a cell would ("won" is read as the status won). A header the
config names that the file does not have is an error naming the key and the headers that exist.
"""

from __future__ import annotations

import difflib
from dataclasses import replace

import polars as pl

from crmkpi.config import SourceConfig
from crmkpi.errors import InputError
from crmkpi.io.grid import Grid
from crmkpi.io.vocabulary import normalise_header

CONFIG_SUFFIX = " (config)"


def check_headers(grid: Grid, source: SourceConfig, where: str) -> None:
    """Every header named in `columns` and `links` is one of the file's."""
    have = {normalise_header(h): h for h in grid.headers}
    named = [("columns", c, h) for c, h in source.columns.items()]
    named += [("links", c, h) for c, h in source.links.items()]
    for key, column, header in named:
        if normalise_header(header) in have:
            continue
        near = difflib.get_close_matches(header, grid.headers, n=1, cutoff=0.6)
        shown = ", ".join(repr(h) for h in grid.headers[:20])
        raise InputError(
            f"sources.{source.name}.{key}.{column} = {header!r}: no such header"
            + (f" (closest: {near[0]!r})" if near else ""),
            path=where,
            hint=f"headers found: {shown}" + (" ..." if len(grid.headers) > 20 else ""),
        )


def fill(grid: Grid, source: SourceConfig) -> tuple[Grid, SourceConfig]:
    """The grid with a column per constant and per link, and the source mapping them."""
    if not (source.values or source.links) or not grid.headers:
        return grid, source
    have = {normalise_header(h): h for h in grid.headers}
    added: dict[str, pl.Expr] = {}
    columns = dict(source.columns)
    # a blank line stays blank (and a footer a footer): the constant fills rows holding data
    filled = pl.any_horizontal(
        pl.col(h).str.strip_chars().str.len_bytes() > 0 for h in have.values()
    )
    for column, value in source.values.items():
        added[column + CONFIG_SUFFIX] = pl.when(filled).then(pl.lit(value, dtype=pl.String))
        columns[column] = column + CONFIG_SUFFIX
    for column, header in source.links.items():
        added[column + CONFIG_SUFFIX] = pl.col(have[normalise_header(header)])
        columns[column] = column + CONFIG_SUFFIX
    frame = grid.frame
    frame.columns = grid.headers
    grid = replace(
        grid,
        headers=[*grid.headers, *added],
        frame=frame.with_columns(expr.alias(name) for name, expr in added.items()),
    )
    return grid, replace(source, columns=columns)
