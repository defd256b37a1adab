"""The Python API: the same core the command line uses.

    import crmkpi
    ds = crmkpi.load("exports/")
    crmkpi.metric(ds, "win_rate", by="owner", period="month")
    rep = crmkpi.report(ds)

Every function takes a loaded Dataset and returns Polars frames or the report model; nothing
here prints. Errors are crmkpi.errors types carrying what the user can fix.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from crmkpi.config import Config, find_config, load_config
from crmkpi.errors import UsageError

if TYPE_CHECKING:
    import polars as pl

    from crmkpi.dataset import Dataset
    from crmkpi.filters import Filter
    from crmkpi.metrics.base import Grain, Metric
    from crmkpi.metrics.explain import Explanation
    from crmkpi.report.model import Report

PathLike = str | Path
When = date | datetime | str | None
REJECTS = "rejects"


def load(
    paths: PathLike | Sequence[PathLike] = (),
    *,
    config: Config | PathLike | None = None,
    strict: bool = False,
    cache: bool | None = None,
    cache_dir: PathLike | None = None,
    progress: Callable[[int, list[Path]], None] | None = None,
) -> Dataset:
    """Read exports (files, folders, a converted Parquet folder, or a config's sources).

    `config` is a Config, the path of a crmkpi.toml, or None for ./crmkpi.toml when present.
    With `strict`, the first rejected value raises instead of being set aside in `ds.rejects`.
    `cache` True/False overrides `[cache] enabled`: unchanged files are not parsed again.
    """
    from crmkpi.io.load import load as load_files

    if not isinstance(config, Config):
        config = load_config(find_config(config))
    if isinstance(paths, str | Path):
        paths = [paths]
    from crmkpi.cache import open_cache

    parse_cache = open_cache(config, cache, cache_dir)
    ds = load_files(
        [Path(p) for p in paths], config, strict=strict, cache=parse_cache, progress=progress
    )
    ds.config = config
    return ds


def metric(
    ds: Dataset,
    ids: str | Sequence[str],
    *,
    by: str | Sequence[str] = (),
    period: str | None = None,
    since: When = None,
    until: When = None,
    where: str | None = None,
    as_of: When = None,
) -> pl.DataFrame:
    """One or more KPIs as a frame: the breakdown keys, then one column per KPI id.

    `by` names breakdown columns ("owner" or ["owner", "source"]); `period` is day, week, month,
    quarter or year (a `period` column holding each period's first day); `since` is inclusive and
    `until` exclusive; `where` is a filter expression (see crmkpi.filters) applied to each KPI's
    own table, and to the other tables that have every column it names. Without a base currency
    a money KPI gets a `currency` key, one row per currency.
    """
    import polars as pl

    from crmkpi.metrics import CATALOG, evaluate
    from crmkpi.metrics.base import PERIOD, VALUE

    wanted = _ids(ids)
    for kpi in wanted:
        if kpi not in CATALOG:
            raise unknown_id(kpi)
    grain = make_grain(ds, by=by, period=period, since=since, until=until)
    ds = at_moment(ds, as_of)
    ds = filtered(ds, where, [CATALOG[k].needs[0][0] for k in wanted if CATALOG[k].needs])
    results = evaluate(ds, wanted, grain, ds.config)
    frames: list[pl.DataFrame] = []
    for kpi in wanted:
        frame = results[kpi]
        keys = [c for c in frame.columns if c in (*grain.by, PERIOD, "currency")]
        frames.append(frame.select(*keys, pl.col(VALUE).alias(kpi)))
    return join_on_keys(frames, [*grain.by, PERIOD, "currency"])


def table(
    ds: Dataset,
    table_id: str,
    *,
    by: str | Sequence[str] = (),
    period: str | None = None,
    since: When = None,
    until: When = None,
    where: str | None = None,
    as_of: When = None,
) -> pl.DataFrame:
    """One breakdown table of the report (e.g. "owners") as a frame, with the same options."""
    from crmkpi.metrics import TABLE_CATALOG, evaluate_tables

    spec = TABLE_CATALOG.get(table_id)
    if spec is None:
        raise unknown_id(table_id)
    grain = make_grain(ds, by=by, period=period, since=since, until=until)
    if grain.by and not spec.supports_by:
        raise UsageError(f"the {table_id} table has its own rows and takes no --by")
    ds = at_moment(ds, as_of)
    ds = filtered(ds, where, [spec.needs[0][0]] if spec.needs else [])
    return evaluate_tables(ds, [table_id], grain, ds.config)[table_id]


def at_moment(ds: Dataset, as_of: When) -> Dataset:
    """`ds` read as of `as_of` (a date is its midnight), or unchanged when none is given."""
    moment = to_datetime(as_of, "as_of")
    return ds if moment is None else replace(ds, as_of=moment)


def report(
    ds: Dataset,
    *,
    since: When = None,
    until: When = None,
    period: str | None = None,
    by: str | Sequence[str] = (),
    sections: Sequence[str] = (),
    title: str | None = None,
    as_of: When = None,
) -> Report:
    """Compute the report model (KPIs, tables, alerts) for a loaded dataset.

    `as_of` is the moment the exports were taken, when the data cannot say it (by default the
    latest recorded event): ages, overdue deals and active subscriptions are measured at it.
    The result renders to any format: `rep.to_excel("r.xlsx")`, `rep.render("markdown")`.
    """
    from crmkpi.report.build import ReportOptions, build_report

    ds = at_moment(ds, as_of)

    options = ReportOptions(
        since=to_datetime(since, "since"),
        until=to_datetime(until, "until"),
        period=period,
        by=split_names(by),
        sections=tuple(sections),
        title=title,
    )
    return build_report(ds, ds.config, options)


def query(ds: Dataset, sql: str) -> pl.DataFrame:
    """Run SQL over the canonical tables (deals, leads, ...) and `rejects`; Polars SQL dialect.

    Extra columns kept from the exports are there too, under their original headers (quote
    them: "Deal Type"). Errors from the engine become one-line UsageErrors. Functions that read
    files or URLs (read_csv, read_parquet...) are refused: a query sees these tables only.
    """
    import polars as pl

    from crmkpi.sql_guard import check_query

    check_query(sql)
    context = pl.SQLContext(frames=sql_frames(ds), eager=False)
    try:
        return context.execute(sql).collect()
    except (pl.exceptions.PolarsError, ValueError, TypeError) as exc:
        raise UsageError(f"query failed: {one_line(exc)}", hint=_tables_hint(ds)) from exc


def sql_frames(ds: Dataset) -> dict[str, pl.LazyFrame]:
    """Every table of `ds` by name, lazily, as `query` registers them: label columns as text,
    so text functions and comparisons in SQL work on them as on any text."""
    from crmkpi.metrics.base import labels_as_text

    frames = {name: labels_as_text(frame.lazy()) for name, frame in ds.frames.items()}
    frames[REJECTS] = ds.rejects.lazy()
    return frames


@dataclass(frozen=True)
class TableInfo:
    """One table of a Dataset: its row count and (column, dtype, canonical?) triples."""

    name: str
    rows: int
    columns: tuple[tuple[str, str, bool], ...]


def tables(ds: Dataset) -> list[TableInfo]:
    """The tables a query can read, in the canonical order, with their columns and dtypes."""
    from crmkpi.schema import TABLES

    out = []
    names = [n for n in TABLES if n in ds.frames] + [n for n in ds.frames if n not in TABLES]
    seen = sql_frames(ds)
    for name in names:
        canonical = set(TABLES[name].names) if name in TABLES else set()
        schema = seen[name].collect_schema()
        cols = tuple((c, dtype_name(t), c in canonical) for c, t in schema.items())
        out.append(TableInfo(name, ds.frames[name].height, cols))
    rejects = tuple((c, dtype_name(t), True) for c, t in ds.rejects.schema.items())
    out.append(TableInfo(REJECTS, ds.rejects.height, rejects))
    return out


def dtype_name(dtype: object) -> str:
    """A short dtype name: string, float64, datetime, datetime[Europe/Madrid], boolean."""
    zone = getattr(dtype, "time_zone", None)
    base = type(dtype).__name__.lower() if not isinstance(dtype, type) else dtype.__name__.lower()
    return f"{base}[{zone}]" if zone else base


def convert(ds: Dataset, folder: PathLike, *, csv: bool = False) -> list[Path]:
    """Write the canonical tables (and the rejects) as Parquet files `folder/<table>.parquet`.

    Reading the folder back with `load` is the fastest input. With `csv`, CSV copies too.
    Returns the paths written.
    """
    from crmkpi.parquet_folder import write_dataset

    return write_dataset(ds, Path(folder), csv=csv)


def explain(
    ds: Dataset,
    kpi: str,
    *,
    since: When = None,
    until: When = None,
    where: str | None = None,
) -> Explanation:
    """How the value of `kpi` over the window comes from the rows of `ds`: the rows used and
    left out, each part's value and the arithmetic (crmkpi.metrics.explain)."""
    from crmkpi.metrics.explain import explain as explain_metric

    metric = lookup_kpi(kpi)
    grain = make_grain(ds, since=since, until=until)
    table = metric.needs[0][0] if metric.needs else None
    return explain_metric(filtered(ds, where, [table] if table else []), metric, grain, where)


# Shared by the commands and by the functions above.


def lookup_kpi(kpi: str) -> Metric:
    """The Metric declaration of `kpi`, or a UsageError naming the nearest ids."""
    from crmkpi.metrics import CATALOG, TABLE_CATALOG

    metric = CATALOG.get(kpi)
    if metric is None:
        if kpi in TABLE_CATALOG:
            raise UsageError(f"{kpi} is a report table, not a KPI", hint="explain takes a KPI id")
        raise unknown_id(kpi)
    return metric


def make_grain(
    ds: Dataset,
    *,
    by: str | Sequence[str] = (),
    period: str | None = None,
    since: When = None,
    until: When = None,
) -> Grain:
    """A Grain from user options, with week start and fiscal year from the dataset's config."""
    from crmkpi.metrics.base import PERIODS, Grain

    if period is not None and period not in PERIODS:
        raise UsageError(f"unknown period {period!r}", hint=f"use one of {', '.join(PERIODS)}")
    start, end = to_datetime(since, "since"), to_datetime(until, "until")
    if start is not None and end is not None and start >= end:
        raise UsageError(f"since {start:%Y-%m-%d} is not before until {end:%Y-%m-%d}")
    config = ds.config
    return Grain(
        by=split_names(by),
        period=period,
        since=start,
        until=end,
        week_start=config.week_start if config else "monday",
        fiscal_year_start_month=config.fiscal_year_start_month if config else 1,
    )


def filtered(ds: Dataset, where: str | Filter | None, own_tables: Sequence[str]) -> Dataset:
    """`ds` with the --where filter applied to `own_tables` (which must have its columns) and
    to every other table that has all the columns it names."""
    if where is None or (isinstance(where, str) and not where.strip()):
        return ds
    from crmkpi.filters import Filter, parse_where

    flt = where if isinstance(where, Filter) else parse_where(where)
    frames = dict(ds.frames)
    for name, frame in ds.frames.items():
        if name in own_tables or flt.applies_to(frame.columns):
            frames[name] = frame.filter(flt.to_expr(frame.schema, table=name))
            if name in own_tables and frame.height and not frames[name].height:
                raise UsageError(f"no {name} row matches --where {flt.text!r}")
    # The filtered rows were exported at the same moment as the others.
    return replace(ds, frames=frames, as_of=ds.data_as_of())


def join_on_keys(frames: list[pl.DataFrame], key_order: Sequence[str]) -> pl.DataFrame:
    """Side by side on their shared keys (full join: a key present in any frame is kept)."""

    joined = frames[0]
    for other in frames[1:]:
        on = [k for k in key_order if k in joined.columns and k in other.columns]
        if on:
            joined = joined.join(other, on=on, how="full", coalesce=True, nulls_equal=True)
        else:
            joined = joined.join(other, how="cross")
    keys = [k for k in key_order if k in joined.columns]
    joined = joined.select(*keys, *(c for c in joined.columns if c not in keys))
    return joined.sort(keys, nulls_last=True) if keys else joined


def unknown_id(name: str) -> UsageError:
    """An unknown KPI or table id, with the nearest known ids as a hint."""
    from crmkpi.metrics import CATALOG, TABLE_CATALOG

    known = [*CATALOG, *TABLE_CATALOG]
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"did you mean {' or '.join(close)}?" if close else "see `crmkpi metrics`"
    return UsageError(f"unknown KPI or table id {name!r}", hint=hint)


def split_names(names: str | Sequence[str] | None) -> tuple[str, ...]:
    """ "owner,source" or ["owner", "source"] -> ("owner", "source")."""
    if not names:
        return ()
    parts = names.split(",") if isinstance(names, str) else list(names)
    return tuple(p.strip() for p in parts if p and p.strip())


def to_datetime(value: When, option: str) -> datetime | None:
    """A date, datetime or ISO string as a datetime (midnight for a date)."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    try:
        return datetime.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise UsageError(f"{option} {value!r} is not a date", hint="use YYYY-MM-DD") from exc


def one_line(exc: BaseException) -> str:
    """An engine message on one line (Polars messages span several, with a hint block)."""
    text = str(exc).strip()
    text = text.split("\n\nHint:")[0].split("\n\nResolved plan")[0]
    return re.sub(r"\s*\n\s*", " ", text)


def _ids(ids: str | Sequence[str]) -> list[str]:
    wanted = [ids] if isinstance(ids, str) else list(ids)
    if not wanted:
        raise UsageError("name at least one KPI id", hint="see `crmkpi metrics`")
    return list(dict.fromkeys(wanted))


def _tables_hint(ds: Dataset) -> str:
    return "tables: " + ", ".join([*ds.frames, REJECTS])
