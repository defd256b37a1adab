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
    empty = pl.DataFrame(schema=REJECTS_SCHEMA)
    lined = [p for p in parts if LINE in p.frame.columns and p.frame.height]
    if len(lined) < 2:
        return parts, empty, None
    compared = _common_columns(table, lined)
    key = _KEYED.get(table)
    combined = pl.concat(
        [
            p.frame.select(pl.col(LINE), *compared).with_columns(pl.lit(i).alias(_PART))
            for i, p in enumerate(lined)
        ],
        how="vertical_relaxed",
    ).with_columns(_row_hash(compared))
    if key is not None and key in compared:
        dropped, conflict = _by_id(table, key, combined, lined, rule)
    else:
        dropped, conflict = _whole_files(combined, lined), None
    if dropped.height == 0:
        return parts, empty, conflict
    rejects = []
    kept: list[Part] = []
    for i, part in enumerate(lined):
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
    others = [p for p in parts if not any(p is q for q in lined)]
    return others + kept, pl.concat(rejects), conflict


def _common_columns(table: str, parts: list[Part]) -> list[str]:
    """Canonical columns every file has: the values two rows are compared on."""
    shared = set.intersection(*(set(p.frame.columns) for p in parts))
    return [c for c in TABLES[table].names if c in shared]


def _row_hash(columns: list[str]) -> pl.Expr:
    """One text per row of the compared values (null kept apart from the empty text)."""
    cells = [pl.col(c).cast(pl.String).fill_null("\x00") for c in columns]
    return pl.concat_str(cells, separator="\x1f").alias(_HASH)


def _where(parts: list[Part]) -> pl.Expr:
    """FILE:LINE of a row in the combined frame (from its part index and line)."""
    names = pl.Series([p.summary.path for p in parts], dtype=pl.String)
    return pl.format("{}:{}", pl.lit(names).gather(pl.col(_PART)), pl.col(LINE))


def _by_id(
    table: str, key: str, combined: pl.DataFrame, parts: list[Part], rule: str
) -> tuple[pl.DataFrame, Conflict | None]:
    """Rows whose id an earlier file holds: the same values -> duplicate; other values ->
    conflict, settled by `rule`."""
    rows = (
        combined.filter(pl.col(key).is_not_null())
        .with_columns(_where(parts).alias("__at"))
        .sort(_PART, LINE)
    )
    originals = rows.group_by(key, _HASH, maintain_order=True).agg(
        pl.col(_PART).first().alias("__p0"), pl.col("__at").first().alias("__of")
    )
    duplicates = (
        rows.join(originals, on=[key, _HASH])
        .filter(pl.col("__p0") < pl.col(_PART))
        .with_columns(pl.format("duplicate of {}", pl.col("__of")).alias("reason"))
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
    winners = _newest_part(clashing, key, parts)
    first_of_winner = (
        clashing.join(winners, on=key)
        .filter(pl.col(_PART) == pl.col("__winner"))
        .group_by(key, maintain_order=True)
        .agg(pl.col("__at").first().alias("__by"))
    )
    superseded = (
        clashing.join(winners, on=key)
        .filter(pl.col(_PART) != pl.col("__winner"))
        .join(first_of_winner, on=key)
        .with_columns(pl.format("superseded by {} (newer export)", pl.col("__by")).alias("reason"))
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


def _whole_files(combined: pl.DataFrame, parts: list[Part]) -> pl.DataFrame:
    """Rows of a file that repeats an earlier file row for row (in any order), paired with the
    earlier file's rows in order of appearance."""
    dropped = []
    ranked = combined.with_columns(pl.int_range(pl.len()).over(_PART, _HASH).alias(_RANK))
    for i in range(1, len(parts)):
        mine = ranked.filter(pl.col(_PART) == i)
        for j in range(i):
            theirs = ranked.filter(pl.col(_PART) == j)
            if theirs.height != mine.height:
                continue
            if not mine[_HASH].sort().equals(theirs[_HASH].sort()):
                continue
            pairs = mine.join(
                theirs.select(_HASH, _RANK, _where(parts).alias("__of")), on=[_HASH, _RANK]
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
