"""Where every row went: loaded, rejected with a reason, or kept with flagged cells.

Rule (docs/importing.md): a row whose required value is missing or does not parse is rejected
with its reason; an optional cell that does not parse is set to null and flagged. Blank rows and
footers were marked before (`convert`), so rows_read = rows_loaded + rows_rejected always.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from crmkpi.dataset import REJECTS_SCHEMA
from crmkpi.errors import InputError
from crmkpi.io.columns import ColumnPlan
from crmkpi.schema import TABLES

if TYPE_CHECKING:
    from crmkpi.io.convert import Converted

LINE = "__line"
REASON = "__reason"
REJECT_COLUMN = "__reject_column"
REJECT_VALUE = "__reject_value"


def _required_checks(
    out: pl.DataFrame, plans: dict[str, ColumnPlan], table: str
) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """Per row, for the first required group with no usable value: (reason, column, value)."""
    reason: Any = pl
    column: Any = pl
    value: Any = pl
    any_group = False
    for alts in TABLES[table].required_per_row:
        present = [a for a in alts if a in out.columns]
        if not present:
            continue
        missing = pl.all_horizontal([pl.col(a).is_null() for a in present])
        mapped = [a for a in present if a in plans]
        raw = [pl.col(f"__raw_{a}") for a in mapped]
        cannot = [
            pl.when(r.is_not_null()).then(
                pl.format(
                    "{}: cannot read '{}' as {}",
                    pl.lit(plans[a].header),
                    r,
                    pl.lit(plans[a].expected),
                )  # fmt: skip
            )
            for a, r in zip(mapped, raw, strict=True)
        ]
        header = [pl.when(r.is_not_null()).then(pl.lit(plans[a].header))
                  for a, r in zip(mapped, raw, strict=True)]  # fmt: skip
        names = " or ".join(plans[a].header if a in plans else a for a in present)
        first = plans[mapped[0]].header if mapped else present[0]
        reason = reason.when(missing).then(pl.coalesce(*cannot, pl.lit(f"missing {names}")))
        column = column.when(missing).then(pl.coalesce(*header, pl.lit(first)))
        value = value.when(missing).then(pl.coalesce(raw) if raw else pl.lit(None, pl.String))
        any_group = True
    if not any_group:
        none = pl.lit(None, dtype=pl.String)
        return none, none, none
    return reason, column, value


def account(
    out: pl.DataFrame,
    plans: dict[str, ColumnPlan],
    canonical: list[str],
    table: str,
    path: str,
    long_lines: dict[int, int] | None = None,
    width: int = 0,
    shifted_lines: frozenset[int] = frozenset(),
    odd_encoding_lines: dict[int, str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, tuple[int, int]]]:
    """Split rows into loaded and rejected and list flagged cells: (loaded, rejects, counts)."""
    unread = [pl.col(f"__raw_{c}").is_not_null() & pl.col(c).is_null() for c, p in plans.items()
              if p.kind not in ("text", "currency") and c in out.columns]  # fmt: skip
    if shifted_lines and unread:
        # wider than the header, and a value that does not read where it stands: a delimiter
        # inside an unquoted value moved every later cell one column on
        shifted = pl.col(LINE).is_in(list(shifted_lines)) & pl.any_horizontal(unread)
        out = out.with_columns(
            pl.when(shifted & pl.col(REASON).is_null())
            .then(pl.lit("more fields than the header and a value that does not read: a "
                         "delimiter inside an unquoted value shifted the row"))
            .otherwise(pl.col(REASON))
            .alias(REASON)
        )  # fmt: skip
    reason, column, value = _required_checks(out, plans, table)
    is_row_kind = pl.col(REASON).is_not_null()
    out = out.with_columns(
        pl.coalesce(pl.col(REASON), reason).alias(REASON),
        pl.when(is_row_kind).then(pl.col(REJECT_COLUMN)).otherwise(column).alias(REJECT_COLUMN),
        pl.when(is_row_kind).then(pl.col(REJECT_VALUE)).otherwise(value).alias(REJECT_VALUE),
    )
    if out[REASON].null_count() == out.height:  # the usual case: no copy of every column
        rejected, loaded = out.clear(), out
    else:
        rejected = out.filter(pl.col(REASON).is_not_null())
        loaded = out.filter(pl.col(REASON).is_null())
    stats = loaded.select(
        *[(pl.col(f"__raw_{c}").is_not_null() & pl.col(c).is_not_null()).sum().alias(f"ok_{c}")
          for c in plans if c in loaded.columns],
        *[pl.col(f"__raw_{c}").is_not_null().sum().alias(f"given_{c}") for c in plans],
    ).row(0, named=True)  # fmt: skip
    counts = {c: (int(stats.get(f"ok_{c}", 0)), int(stats[f"given_{c}"])) for c in plans}
    rejects = [
        rejected.select(
            pl.lit(path).alias("file"),
            pl.col(LINE).alias("row"),
            pl.col(REJECT_COLUMN).alias("column"),
            pl.col(REJECT_VALUE).alias("value"),
            pl.col(REASON).alias("reason"),
            pl.lit("rejected").alias("action"),
        )
    ]
    for c, plan in plans.items():
        if plan.kind in ("text", "currency") or c not in loaded.columns:
            continue
        bad = loaded.filter(pl.col(f"__raw_{c}").is_not_null() & pl.col(c).is_null())
        if bad.height:
            rejects.append(
                bad.select(
                    pl.lit(path).alias("file"),
                    pl.col(LINE).alias("row"),
                    pl.lit(plan.header).alias("column"),
                    pl.col(f"__raw_{c}").alias("value"),
                    pl.lit(f"not {plan.expected}").alias("reason"),
                    pl.lit("flagged").alias("action"),
                )
            )
    if long_lines:
        # the reader kept the header's width: say which rows had more, and may be shifted
        reason = pl.format(
            "{} fields where the header has {}: the extra ones were dropped and the row may be "
            "shifted (a delimiter inside an unquoted value?)",
            pl.col("fact"),
            pl.lit(width),
        )
        rejects.append(_flag_lines(out, path, long_lines, pl.Int64, reason))
    if odd_encoding_lines:
        # read in the encoding the line fits (crmkpi.io.text_lines), kept, and said so
        reason = pl.format("line is not in the file's encoding: read as {}", "fact")
        rejects.append(_flag_lines(out, path, odd_encoding_lines, pl.String, reason))
    frame = pl.concat([r.cast(REJECTS_SCHEMA) for r in rejects], how="vertical")
    frame = frame.sort("row", maintain_order=True)
    return loaded, frame, counts


def _flag_lines(
    out: pl.DataFrame, path: str, facts: dict[int, Any], dtype: pl.DataType, reason: pl.Expr
) -> pl.DataFrame:
    """Flag rows by their line: `facts` maps a line to what the reason says of it ("fact")."""
    lines = pl.DataFrame(
        {"row": list(facts), "fact": list(facts.values())}, schema={"row": pl.Int64, "fact": dtype}
    )
    hit = out.select(pl.col(LINE).cast(pl.Int64).alias("row")).join(lines, on="row")
    return hit.select(
        pl.lit(path).alias("file"),
        pl.col("row"),
        pl.lit(None, dtype=pl.String).alias("column"),
        pl.lit(None, dtype=pl.String).alias("value"),
        reason.alias("reason"),
        pl.lit("flagged").alias("action"),
    )


def flag_counts(rejects: pl.DataFrame, plans: dict[str, ColumnPlan]) -> dict[str, int]:
    by_header = {p.header: c for c, p in plans.items()}
    flagged = rejects.filter(pl.col("action") == "flagged").group_by("column").len()
    return {by_header.get(h, h): k for h, k in flagged.iter_rows()}


def strict_check(converted: Converted) -> None:
    """Raise at the first rejected or flagged row (strict mode)."""
    # blank lines and report footers are layout, not bad data: strict mode lets them pass
    bad = converted.rejects.filter(~pl.col("reason").is_in(["blank", "footer"]))
    if bad.height == 0:
        return
    row = bad.row(0, named=True)
    raise InputError(
        f"{row['reason']}" + (f" (value {row['value']!r})" if row["value"] else ""),
        path=row["file"], row=row["row"], column=row["column"],
        hint="fix the cell or load without --strict",
    )  # fmt: skip
