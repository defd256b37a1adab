"""Every row of a KPI's table with how it counted: the list to check a number deal by deal.

D1  won   2025-02-10  left out: closed_at before 2025-04-01
D3  won   2025-04-02  counted: numerator and denominator
D5  lost  2025-05-20  counted: denominator
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import polars as pl

from crmkpi.errors import UsageError
from crmkpi.metrics.base import Aggregate, Context
from crmkpi.metrics.catalog import lookup_kpi
from crmkpi.metrics.explain import columns_read, day_text
from crmkpi.metrics.scope import filtered, make_grain

if TYPE_CHECKING:
    from datetime import date, datetime

    from crmkpi.dataset import Dataset


ROW_COLUMNS = ("id", "name", "owner", "stage", "status", "amount", "currency")


def explain_rows(
    ds: Dataset,
    kpi: str,
    *,
    since: date | datetime | str | None = None,
    until: date | datetime | str | None = None,
    where: str | None = None,
) -> pl.DataFrame:
    """Every row of the KPI's table with `counted_as`: how it counted, or why it was left out.

    The list to check a number against the CRM deal by deal. Rows removed by `where` are not
    listed (they are not the KPI's rows); the others keep their order in the table.
    """
    metric = lookup_kpi(kpi)
    compute = metric.compute
    if not isinstance(compute, Aggregate):
        raise UsageError(
            f"{kpi} is computed from other KPIs or over time, not by counting rows of one table",
            hint="list the rows of one of its parts, e.g. win_rate",
        )
    grain = make_grain(ds, since=since, until=until)
    ds = filtered(ds, where, [compute.table])
    if compute.table not in ds.frames:
        raise UsageError(f"cannot list the rows of {kpi}: no {compute.table} table")
    frame = ds.frames[compute.table].with_row_index("__row")
    ctx = Context(replace(ds, frames={**ds.frames, compute.table: frame}), grain, ds.config)
    rows = compute.rows(ctx)
    flags = []
    for name, measure in metric.measures():
        matches = measure.matching()
        contents = [] if measure.of is None else [measure.of]
        has_values = measure.of.is_not_null() if measure.of is not None else pl.lit(True)
        flags.append((name, matches & has_values, matches & ~has_values, contents))
    counted = rows.select(
        "__row",
        *(entered.alias(f"__in_{name}") for name, entered, _, _ in flags),
        *(empty.alias(f"__empty_{name}") for name, _, empty, _ in flags),
    )
    date = pl.col(compute.date)
    windowed = grain.since is not None or grain.until is not None
    reason = pl.when(pl.lit(False)).then(pl.lit(None, dtype=pl.String))
    if windowed:
        reason = reason.when(date.is_null()).then(pl.lit(f"left out: {compute.date} empty"))
    if grain.since is not None:
        label = f"left out: {compute.date} before {day_text(grain.since)}"
        reason = reason.when(date < grain.since).then(pl.lit(label))
    if grain.until is not None:
        label = f"left out: {compute.date} on or after {day_text(grain.until)}"
        reason = reason.when(date >= grain.until).then(pl.lit(label))
    how = pl.when(pl.col("__reason").is_not_null()).then(pl.col("__reason"))
    how = how.when(pl.col(f"__in_{flags[0][0]}").is_null()).then(
        pl.lit("left out converting currencies")
    )
    if len(flags) == 2:
        num, den = (pl.col(f"__in_{name}") for name, *_ in flags)
        how = (
            how.when(num & den).then(pl.lit("counted: numerator and denominator"))
            .when(den).then(pl.lit("counted: denominator"))
            .when(num).then(pl.lit("counted: numerator"))
        )  # fmt: skip
    else:
        name, _, _, contents = flags[0]
        empty_label = ", ".join(c for e in contents for c in e.meta.root_names()) or "value"
        how = (
            how.when(pl.col(f"__in_{name}"))
            .then(pl.lit("counted"))
            .when(pl.col(f"__empty_{name}"))
            .then(pl.lit(f"left out: {empty_label} empty"))
        )
    how = how.otherwise(pl.lit("not counted: matches no part of the formula"))
    used = [*(c for _, m in metric.measures() for c in columns_read(m)), compute.date]
    shown = list(dict.fromkeys([c for c in ROW_COLUMNS if c in frame.columns] + used))
    return (
        frame.lazy()
        .with_columns(reason.alias("__reason"))
        .join(counted, on="__row", how="left")
        .sort("__row")
        .select(*shown, how.alias("counted_as"))
        .collect()
    )
