"""Owner ids turned into names, from a users file exported beside the records.

Salesforce (and other CRMs' full exports) put the owner's user id in every record
(`OwnerId = 005Hp00000hnUYPIA2`) and the people in a users table (`User.csv`: Id, FirstName,
LastName). With that file in the same folder, every owner shown is a name; an owner value that
is no user id is left as it is.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from crmkpi.io.grid import Grid, read_grids
from crmkpi.io.limits import Limits
from crmkpi.io.recognition import name_stem
from crmkpi.io.vocabulary import normalise_header

_ID_HEADERS = ("id", "user id", "owner id")
_NAME_HEADERS = ("name", "full name", "user name display", "display name")
_FIRST, _LAST = ("first name", "firstname"), ("last name", "lastname")


def is_users_name(path: Path) -> bool:
    """A file named for users ("User.csv", "sf_user_data.csv"), not for their roles."""
    stem = name_stem(path.name)
    return "user" in stem and "role" not in stem


def read_owner_names(path: Path, limits: Limits) -> tuple[dict[str, str], int] | None:
    """{user id: "First Last"} from a users file, and its row count; None when the file has
    no id column or no name columns."""
    grids = read_grids(path, None, {}, limits)
    for grid in grids:
        names = _names(grid)
        if names is not None:
            return names, grid.frame.height
    return None


def _names(grid: Grid) -> dict[str, str] | None:
    columns = {normalise_header(h): i for i, h in enumerate(grid.headers)}
    ids = next((columns[h] for h in _ID_HEADERS if h in columns), None)
    full = next((columns[h] for h in _NAME_HEADERS if h in columns), None)
    first = next((columns[h] for h in _FIRST if h in columns), None)
    last = next((columns[h] for h in _LAST if h in columns), None)
    if ids is None or (full is None and last is None):
        return None
    frame = grid.frame
    empty = pl.lit(None, dtype=pl.String)
    parts = [pl.nth(i).str.strip_chars() for i in (first, last) if i is not None]
    joined = pl.concat_str(parts, separator=" ", ignore_nulls=True) if parts else empty
    # a Name column left empty falls back to first and last name
    given = pl.nth(full).str.strip_chars().replace("", None) if full is not None else empty
    pairs = frame.select(
        pl.nth(ids).str.strip_chars().alias("id"),
        pl.coalesce(given, joined.str.strip_chars().replace("", None)).alias("name"),
    )
    pairs = pairs.filter(pl.col("id").is_not_null() & (pl.col("id") != ""))
    pairs = pairs.filter(pl.col("name").is_not_null() & (pl.col("name") != ""))
    return dict(pairs.iter_rows())


def name_owners(frames: dict[str, pl.DataFrame], names: dict[str, str]) -> dict[str, pl.DataFrame]:
    """Each table's owner ids replaced by the users' names, the column keeping its type."""
    if not names:
        return frames
    out = dict(frames)
    for table, frame in frames.items():
        if "owner" not in frame.columns:
            continue
        dtype = frame.schema["owner"]
        text = pl.col("owner").cast(pl.String)
        named = text.replace(names).cast(dtype)
        out[table] = frame.with_columns(named.alias("owner"))
    return out
