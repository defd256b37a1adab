"""One row per thing across files: the same record exported twice is loaded once.

Rule (docs/importing.md): rows of one table from several files are compared by id (deals,
leads, activities). A row whose id an earlier file has, with the same values, is rejected as
"duplicate of FILE:LINE". Rows sharing an id but differing are a conflict, settled by
`[duplicates] rule`: "newer" (default) keeps the rows of the most recently modified file (the file
read later on equal times) and rejects the others as "superseded by FILE:LINE"; "keep" keeps every
row; "refuse" stops with an error. A table without ids (spend, stage history...) has its rows
rejected as duplicates when a whole file repeats an earlier one. Within one file nothing is
dropped: repeated ids there are a data-quality fact.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from crmkpi.dataset import REJECTS_SCHEMA, InputSummary
from crmkpi.errors import InputError
from crmkpi.io.accounting import LINE
from crmkpi.schema import TABLES

DUPLICATE_RULES = ("newer", "keep", "refuse")
_KEYED = {"deals": "id", "leads": "id", "activities": "id"}
_PART, _HASH, _RANK = "__part", "__hash", "__rank"


@dataclass
class Part:
    """The rows one file (or sheet) gave a table, and its account."""

    frame: pl.DataFrame
    summary: InputSummary


@dataclass(frozen=True)
class Conflict:
    """Ids of a table whose rows differ between files, and how they were settled."""

    table: str
    files: tuple[str, ...]
    ids: int
    rule: str

    def describe(self) -> str:
        settled = {
            "newer": "the newer export's rows kept",
            "keep": "all rows kept (duplicates rule keep)",
        }[self.rule]
        return (
            f"{self.ids} {self.table} ids have different rows in {' and '.join(self.files)}: "
            f"{settled}"
        )


def settle(
    table: str, parts: list[Part], rule: str = "newer"
) -> tuple[list[Part], pl.DataFrame, Conflict | None]:
    """Drop the rows of `parts` that repeat an earlier file's: (parts, rejects, conflict)."""
    lined = [p for p in parts if LINE in p.frame.columns and p.frame.height]
    if len(lined) < 2:
        return parts, pl.DataFrame(schema=REJECTS_SCHEMA), None
    compared = _common_columns(table, lined)
    key = _KEYED.get(table)
    key = key if key in compared else None
    copies = _copies(lined, compared)
    dropped = [_copy_rows(lined, i, j, key) for i, j in copies.items()]
    rest = [i for i in range(len(lined)) if i not in copies]
    found, conflict = _repeated_rows(table, lined, rest, compared, key, rule)
    dropped += [found] if found.height else []
    if not dropped:
        return parts, pl.DataFrame(schema=REJECTS_SCHEMA), conflict
    kept, rejects = _drop(lined, pl.concat(dropped, how="diagonal_relaxed"), key)
    others = [p for p in parts if not any(p is q for q in lined)]
    return others + kept, rejects, conflict


def _copies(parts: list[Part], compared: list[str]) -> dict[int, int]:
    """Files that repeat an earlier file row for row, in the same order (a CSV and its XLSX):
    later part -> earlier part. Found by comparing whole columns, no row hashed."""
    copies: dict[int, int] = {}
    for i in range(1, len(parts)):
        mine = parts[i].frame.select(compared)
        for j in range(i):
            if j in copies or parts[j].frame.height != mine.height:
                continue
            if mine.equals(parts[j].frame.select(compared)):
                copies[i] = j
                break
    return copies


def _copy_rows(parts: list[Part], i: int, j: int, key: str | None) -> pl.DataFrame:
    """Every row of part i as the duplicate of the row of part j at the same position."""
    rows = parts[i].frame.select(LINE, *([key] if key else []))
    return rows.with_columns(
        pl.lit(i).alias(_PART),
        pl.format("duplicate of {}:{}", pl.lit(parts[j].summary.path), parts[j].frame[LINE]).alias(
            "reason"
        ),
    )


def _repeated_rows(
    table: str, parts: list[Part], rest: list[int], compared: list[str], key: str | None, rule: str
) -> tuple[pl.DataFrame, Conflict | None]:
    """Rows of the `rest` parts repeating another's, compared value by value: only those whose
    id another file has, or (without ids) the rows of files as long as another."""
    none = pl.DataFrame(schema={_PART: pl.Int32, LINE: pl.Int64, "reason": pl.String})
    if len(rest) < 2:
        return none, None
    if key is None and len({parts[i].frame.height for i in rest}) == len(rest):
        return none, None
    combined = pl.concat(
        [parts[i].frame.select(pl.col(LINE), *compared).with_columns(pl.lit(i).alias(_PART))
         for i in rest],
        how="vertical_relaxed",
    )  # fmt: skip
    if key is None:
        return _whole_files(_with_row_hash(combined, compared), parts, rest), None
    suspects = _shared_ids(combined, key)
    if suspects.height == 0:
        return none, None
    combined = _with_row_hash(combined.join(suspects, on=key, how="semi"), compared)
    return _by_id(table, key, combined, parts, rule)


def _drop(
    parts: list[Part], dropped: pl.DataFrame, key: str | None
) -> tuple[list[Part], pl.DataFrame]:
    """Remove the dropped rows from their parts, move them to the account, list them."""
    rejects = []
    kept: list[Part] = []
    for i, part in enumerate(parts):
        mine = dropped.filter(pl.col(_PART) == i)
        if mine.height == 0:
            kept.append(part)
            continue
        frame = part.frame.join(mine.select(LINE), on=LINE, how="anti")
        summary = part.summary
        summary.rows_loaded -= mine.height
        summary.rows_rejected += mine.height
        column = summary.columns.get(key) if key else None
        value = pl.col(key).cast(pl.String) if key and key in mine.columns else pl.lit(None)
        rejects.append(
            mine.select(
                pl.lit(summary.path).alias("file"),
                pl.col(LINE).alias("row"),
                pl.lit(column, dtype=pl.String).alias("column"),
                value.alias("value"),
                pl.col("reason"),
                pl.lit("rejected").alias("action"),
            ).cast(REJECTS_SCHEMA)
        )
        kept.append(Part(frame, summary))
    return kept, pl.concat(rejects)


def _shared_ids(combined: pl.DataFrame, key: str) -> pl.DataFrame:
    """The ids more than one file holds (usually few: a group-by over the ids alone)."""
    return (
        combined.filter(pl.col(key).is_not_null())
        .group_by(key)
        .agg(pl.col(_PART).n_unique().alias("__files"))
        .filter(pl.col("__files") > 1)
        .select(key)
    )


def _common_columns(table: str, parts: list[Part]) -> list[str]:
    """Canonical columns every file has: the values two rows are compared on."""
    shared = set.intersection(*(set(p.frame.columns) for p in parts))
    return [c for c in TABLES[table].names if c in shared]


def _with_row_hash(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Each row's compared values as one 64-bit hash (labels hashed by their text). Rows are
    matched on the id and the hash, so two rows taken as equal share their id as well."""
    cells = [
        pl.col(c).cast(pl.String) if frame.schema[c] == pl.Categorical else pl.col(c)
        for c in columns
    ]
    return frame.with_columns(pl.struct(cells).hash().alias(_HASH))


def _where(parts: list[Part], part: str, line: str) -> pl.Expr:
    """FILE:LINE from a part index column and a line column."""
    names = pl.Series([p.summary.path for p in parts], dtype=pl.String)
    return pl.format("{}:{}", pl.lit(names).gather(pl.col(part)), pl.col(line))


def _first_rows(rows: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Per group: the first file holding it and that file's first line of it."""
    first = pl.col(_PART).min()
    return rows.group_by(by).agg(
        first.alias("__p0"), pl.col(LINE).filter(pl.col(_PART) == first).min().alias("__l0")
    )


def _by_id(
    table: str, key: str, combined: pl.DataFrame, parts: list[Part], rule: str
) -> tuple[pl.DataFrame, Conflict | None]:
    """Rows whose id an earlier file holds: the same values -> duplicate; other values ->
    conflict, settled by `rule`."""
    rows = combined.filter(pl.col(key).is_not_null())
    duplicates = (
        rows.join(_first_rows(rows, [key, _HASH]), on=[key, _HASH])
        .filter(pl.col("__p0") < pl.col(_PART))
        .with_columns(pl.format("duplicate of {}", _where(parts, "__p0", "__l0")).alias("reason"))
    )
    dropped = duplicates.select(_PART, LINE, key, "reason")
    rest = rows.join(duplicates.select(_PART, LINE), on=[_PART, LINE], how="anti")
    differing_ids = (
        rest.group_by(key).agg(pl.col(_PART).n_unique().alias("__files"))
        .filter(pl.col("__files") > 1).select(key)
    )  # fmt: skip
    if differing_ids.height == 0:
        return dropped, None
    clashing = rest.join(differing_ids, on=key, how="semi")
    files = tuple(parts[i].summary.path for i in sorted(clashing[_PART].unique().to_list()))
    if rule == "refuse":
        example = differing_ids[key][0]
        raise InputError(
            f"{differing_ids.height} {table} ids have different rows in {' and '.join(files)} "
            f"(e.g. {key} {example!r})",
            path=files[-1],
            hint='set [duplicates] rule = "newer" to keep the newer export\'s rows, or "keep" '
            "to keep them all",
        )
    conflict = Conflict(table, files, differing_ids.height, rule)
    if rule == "keep":
        return dropped, conflict
    with_winner = clashing.join(_newest_part(clashing, key, parts), on=key)
    first_of_winner = (
        with_winner.filter(pl.col(_PART) == pl.col("__winner"))
        .group_by(key)
        .agg(pl.col("__winner").first(), pl.col(LINE).min().alias("__by_line"))
    )
    superseded = (
        with_winner.filter(pl.col(_PART) != pl.col("__winner"))
        .join(first_of_winner.drop("__winner"), on=key)
        .with_columns(
            pl.format(
                "superseded by {} (newer export)", _where(parts, "__winner", "__by_line")
            ).alias("reason")
        )
    )
    return pl.concat([dropped, superseded.select(_PART, LINE, key, "reason")]), conflict


def _newest_part(clashing: pl.DataFrame, key: str, parts: list[Part]) -> pl.DataFrame:
    """Per clashing id, the part of the most recently modified file; on equal times (or no
    time known) the file read later."""
    order = pl.DataFrame(
        {
            _PART: list(range(len(parts))),
            "__mtime": [p.summary.modified_at or 0.0 for p in parts],
        },
        schema={_PART: pl.Int32, "__mtime": pl.Float64},
    )
    return (
        clashing.select(key, pl.col(_PART).cast(pl.Int32))
        .unique()
        .join(order, on=_PART)
        .sort(["__mtime", _PART])
        .group_by(key)
        .agg(pl.col(_PART).last().alias("__winner"))
        .with_columns(pl.col("__winner").cast(clashing.schema[_PART]))
    )


def _whole_files(combined: pl.DataFrame, parts: list[Part], rest: list[int]) -> pl.DataFrame:
    """Rows of a file that repeats an earlier file row for row in another order, paired with
    the earlier file's rows in order of appearance."""
    dropped = []
    ranked = combined.with_columns(pl.int_range(pl.len()).over(_PART, _HASH).alias(_RANK))
    for n, i in enumerate(rest[1:], start=1):
        mine = ranked.filter(pl.col(_PART) == i)
        for j in rest[:n]:
            theirs = ranked.filter(pl.col(_PART) == j)
            if theirs.height != mine.height:
                continue
            if not mine[_HASH].sort().equals(theirs[_HASH].sort()):
                continue
            pairs = mine.join(
                theirs.select(_HASH, _RANK, _where(parts, _PART, LINE).alias("__of")),
                on=[_HASH, _RANK],
            )
            dropped.append(
                pairs.select(
                    _PART, LINE, pl.format("duplicate of {}", pl.col("__of")).alias("reason")
                )
            )
            break
    if not dropped:
        return pl.DataFrame(schema={_PART: pl.Int32, LINE: pl.Int64, "reason": pl.String})
    return pl.concat(dropped)
