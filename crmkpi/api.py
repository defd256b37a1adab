"""The Python API: the same core the command line uses.

    import crmkpi
    ds = crmkpi.load("exports/")
    crmkpi.metric(ds, "win_rate", by="owner", period="month")
    rep = crmkpi.report(ds)

Every function takes a loaded Dataset and returns Polars frames or the report model; nothing
here prints. Errors are crmkpi.errors types carrying what the user can fix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from crmkpi.config import Config, find_config, load_config
from crmkpi.errors import UsageError

# Each function imports its own path inside it, for start-up time: `import crmkpi` and
# `crmkpi.load` stay free of the KPI catalog and the report builder (tests/test_architecture.py).

if TYPE_CHECKING:
    import polars as pl

    from crmkpi.dataset import Dataset
    from crmkpi.metrics.base import Metric
    from crmkpi.metrics.explain import Explanation
    from crmkpi.metrics.scope import When
    from crmkpi.reporting.model import Report

PathLike = str | Path
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
    from crmkpi.reporting.targets import project_targets

    project_targets(config)  # an unknown KPI id in [targets] is told before the files are read
    if isinstance(paths, str | Path):
        paths = [paths]
    from crmkpi.io.cache import open_cache

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
    calendar: str | None = None,
) -> pl.DataFrame:
    """One or more KPIs as a frame: the breakdown keys, then one column per KPI id.

    `by` names breakdown columns ("owner" or ["owner", "source"]); `period` is day, week, month,
    quarter or year (a `period` column holding each period's first day); `since` is inclusive and
    `until` exclusive; `where` is a filter expression (see crmkpi.metrics.filters) applied to each
    KPI's own table, and to the other tables that have every column it names. Without a base
    currency a money KPI gets a `currency` key, one row per currency. `calendar` ("gregorian"
    or "jalali") overrides the config's `[periods] calendar`.
    """
    import polars as pl

    from crmkpi.metrics import CATALOG, evaluate
    from crmkpi.metrics.base import PERIOD, VALUE
    from crmkpi.metrics.scope import at_moment, filtered, in_calendar, make_grain

    wanted = _ids(ids)
    for kpi in wanted:
        if kpi not in CATALOG:
            raise unknown_id(kpi)
    ds = in_calendar(ds, calendar)
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
    calendar: str | None = None,
) -> pl.DataFrame:
    """One breakdown table of the report (e.g. "owners") as a frame, with the same options."""
    from crmkpi.metrics import TABLE_CATALOG, evaluate_tables
    from crmkpi.metrics.scope import at_moment, filtered, in_calendar, make_grain

    spec = TABLE_CATALOG.get(table_id)
    if spec is None:
        raise unknown_id(table_id)
    ds = in_calendar(ds, calendar)
    grain = make_grain(ds, by=by, period=period, since=since, until=until)
    if grain.by and not spec.supports_by:
        raise UsageError(f"the {table_id} table has its own rows and takes no --by")
    ds = at_moment(ds, as_of)
    ds = filtered(ds, where, [spec.needs[0][0]] if spec.needs else [])
    return evaluate_tables(ds, [table_id], grain, ds.config)[table_id]


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
    calendar: str | None = None,
) -> Report:
    """Compute the report model (KPIs, tables, alerts) for a loaded dataset.

    `as_of` is the moment the exports were taken, when the data cannot say it (by default the
    latest recorded event): ages, overdue deals and active subscriptions are measured at it.
    `calendar` ("gregorian" or "jalali") overrides the config's `[periods] calendar`.
    The result renders to any format: `rep.to_excel("r.xlsx")`, `rep.render("markdown")`.
    """
    from crmkpi.metrics.scope import at_moment, in_calendar, split_names, to_datetime
    from crmkpi.reporting.build import ReportOptions, build_report

    ds = in_calendar(at_moment(ds, as_of), calendar)

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

    from crmkpi.metrics.sql_guard import check_query

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
    from crmkpi.reporting.dataset_files import write_dataset

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
    from crmkpi.metrics.scope import filtered, make_grain

    metric = lookup_kpi(kpi)
    grain = make_grain(ds, since=since, until=until)
    table = metric.needs[0][0] if metric.needs else None
    return explain_metric(filtered(ds, where, [table] if table else []), metric, grain, where)


# Shared by the commands and by the functions above.


def lookup_kpi(kpi: str) -> Metric:
    """The Metric declaration of `kpi`, or a UsageError naming the nearest ids."""
    from crmkpi.metrics import lookup_kpi as lookup

    return lookup(kpi)


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
    from crmkpi.metrics import unknown_id as unknown

    return unknown(name)


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
