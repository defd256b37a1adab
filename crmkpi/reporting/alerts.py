"""Alerts: targets breached, KPIs moving the wrong way, and data that cannot be trusted.

`check_report` runs at the end of the report build: it marks each KPI with its target and
status, fills the previous saved run's values, and appends every Alert. Renderers
only read the result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import polars as pl

from crmkpi.config import Config
from crmkpi.history.store import HistoryStore
from crmkpi.io.quality import FACTS, quality_facts, undated_rows
from crmkpi.io.quotas import add_months
from crmkpi.metrics import CATALOG, calendars, evaluate
from crmkpi.metrics.base import PERIOD, VALUE, Aggregate, Grain, period_start
from crmkpi.metrics.quota import period_holding, period_name
from crmkpi.reporting.format import QUALITY, format_value, number_text, percent_text
from crmkpi.reporting.i18n.active import t
from crmkpi.reporting.i18n.localize import comparison_words
from crmkpi.reporting.i18n.message import Label, Message, Shown, message
from crmkpi.reporting.model import Alert, KpiValue, Report
from crmkpi.reporting.periods import shift
from crmkpi.reporting.targets import STATUS_OK, Target, Targets, project_targets

if TYPE_CHECKING:
    from crmkpi.config import AlertSettings, Config
    from crmkpi.dataset import Dataset

KIND_TARGET = "target"
KIND_CHANGE = "change"
KIND_QUALITY = QUALITY  # one name for the kind the renderers set apart (format.QUALITY)
OWNER = "owner"

# The tables whose rows arrive continuously, so an empty period means a missing export slice.
FLOW_DATES = (("deals", "created_at"), ("leads", "created_at"), ("activities", "at"))
_FLOW_NOUNS = {"deals": "deals created", "leads": "leads created", "activities": "activities"}


def check_report(report: Report, ds: Dataset, config: Config | None) -> None:
    """Targets, history deltas and alerts, written into `report` in place."""
    config = config or ds.config or Config()
    grain = report_grain(report, config)
    settings = config.alert_settings
    targets = project_targets(config)
    missing_team = [k for k in targets.team if k not in report.kpis]
    report.kpis.update(compute_kpis(missing_team, ds, config, grain))
    fill_history_previous(report, config)
    alerts: list[Alert] = []
    alerts += target_alerts(report.kpis, {k: t for k, t in targets.team.items() if not t.per})
    alerts += period_target_alerts(report.kpis, targets.team, ds, config, grain)
    if targets.owner_kpis:
        alerts += owner_target_alerts(ds, config, grain)
    label = report.comparison.label if report.comparison else None
    alerts += change_alerts(
        report.kpis.values(),
        settings.change_threshold,
        label,
        settings.change_threshold_by_kpi,
        support=change_support(report, ds),
        min_rows=settings.min_rows,
    )
    alerts += quality_alerts(report, ds, settings, grain)
    report.alerts.extend(alerts)


def report_grain(report: Report, config: Config) -> Grain:
    """The grain of the report's headline values: its window, the project's calendar."""
    return Grain(
        since=report.window[0],
        until=report.window[1],
        week_start=config.week_start,
        fiscal_year_start_month=config.fiscal_year_start_month,
        calendar=config.calendar,
    )


def compute_kpis(
    ids: Iterable[str], ds: Dataset, config: Config | None, grain: Grain
) -> dict[str, KpiValue]:
    """KPIs a target names that the report's sections left out, computed over its window."""
    ids = list(ids)
    skipped: dict[str, str] = {}
    frames = evaluate_each(ds, ids, grain.with_(by=(), period=None), config, skipped)
    out = {}
    for kpi_id in ids:
        metric = CATALOG[kpi_id]
        value, reason = _single_value(frames.get(kpi_id), skipped.get(kpi_id))
        out[kpi_id] = KpiValue(
            kpi_id,
            metric.label,
            metric.unit,
            value,
            direction=metric.direction,
            reason=reason,
            point_in_time=metric.point_in_time,
        )
    return out


def evaluate_each(
    ds: Dataset, ids: list[str], grain: Grain, config: Config | None, skipped: dict[str, str]
) -> dict[str, pl.DataFrame]:
    """All KPIs in one collect; when that fails, each alone, so one failing KPI is reported
    in `skipped` instead of taking the others down."""
    try:
        return evaluate(ds, ids, grain, config, skipped=skipped)
    except Exception:  # noqa: BLE001 - isolated below, every failure is reported by KPI id
        frames: dict[str, pl.DataFrame] = {}
        for kpi_id in ids:
            try:
                frames.update(evaluate(ds, [kpi_id], grain, config, skipped=skipped))
            except Exception as exc:  # noqa: BLE001
                skipped[kpi_id] = f"could not compute: {type(exc).__name__}: {exc}".splitlines()[0]
        return frames


def _single_value(
    frame: pl.DataFrame | None, reason: str | None
) -> tuple[float | None, str | None]:
    if frame is None:
        return None, reason or "no value"
    if frame.height > 1:  # one row per currency: no single value to judge
        return None, "mixed currencies"
    value = frame[VALUE][0] if frame.height else None
    return (None, "no rows") if value is None else (float(value), None)


def relative_change(value: float | None, previous: float | None) -> float | None:
    """(value - previous) / |previous|; None when either is missing or previous is zero."""
    if value is None or previous is None or previous == 0:
        return None
    return (value - previous) / abs(previous)


def fill_history_previous(report: Report, config: Config) -> None:
    """Point-in-time KPIs (open deals, open pipeline) against the last saved run's values:
    an export holds only their state today, so the history store is their only past."""
    path = config.history_file
    if not path.exists():
        return
    ids = [k for k in report.kpis if k in CATALOG and CATALOG[k].point_in_time]
    if not ids:
        return
    with HistoryStore(path) as store:
        run = store.previous_run(report.window, before=report.generated_at)
        if run is None:
            return
        values = store.run_values(run.id)
    for kpi_id in ids:
        value = values.get((kpi_id, ""))
        if value is not None:
            report.kpis[kpi_id].history_previous = value


def target_alerts(
    kpis: dict[str, KpiValue], targets: dict[str, Target], owner: str | None = None
) -> list[Alert]:
    """Mark each KPI with its target and status; an alert for each warn or bad."""
    alerts = []
    for kpi_id, target in targets.items():
        kpi = kpis.get(kpi_id)
        if kpi is None:
            continue

        def number(x: float, unit: str = kpi.unit) -> str:
            return format_value(x, unit)

        def words(target: Target = target, number: Callable[..., str] = number) -> str:
            return target.describe(number)

        if owner is None:
            kpi.target = target.describe(number)
            kpi.target_words = words
            kpi.status = target.status(kpi.value)
        if kpi.value is None:
            who = f" for {owner}" if owner else ""
            why = kpi.reason or "no value"
            alerts.append(
                Alert(
                    KIND_QUALITY,
                    f"{kpi.label}{who}: target {target.describe(number)} not checked ({why})",
                    kpi=kpi_id,
                    owner=owner,
                )
            )
            continue
        status = target.status(kpi.value)
        if status in (None, STATUS_OK):
            continue
        said = breach_message(kpi, target, number, owner)
        alerts.append(
            Alert(KIND_TARGET, said.text(), severity=status, kpi=kpi_id, owner=owner, text=said)
        )
    return alerts


def breach_message(
    kpi: KpiValue, target: Target, number: Callable[..., str], owner: str | None
) -> Message:
    """ "Win rate 21.0% is below target >= 25.0%", said again in the reader's language."""
    assert kpi.value is not None
    parts: dict[str, Any] = {
        "kpi": Label(kpi.id, kpi.label),
        "value": Shown(kpi.value, kpi.unit),
        "target": lambda: target.describe(number),
    }
    if target.below(kpi.value):
        said = message("{kpi} {value} is below target {target}", **parts)
    elif target.above(kpi.value):
        said = message("{kpi} {value} is above target {target}", **parts)
    else:
        assert target.warn is not None
        parts["warn"] = lambda: number(target.warn)
        parts["target"] = lambda: target.describe(number, False)
        said = (
            message("{kpi} {value} is below warn level {warn} (target {target})", **parts)
            if target.minimum is not None
            else message("{kpi} {value} is above warn level {warn} (target {target})", **parts)
        )
    return message("{owner}: {alert}", owner=owner, alert=said) if owner else said


def owner_values(
    ids: Iterable[str], ds: Dataset, config: Config | None, grain: Grain
) -> tuple[dict[str, dict[str, float | None]], dict[str, str]]:
    """Per owner, each KPI's value; and why a KPI could not be split by owner."""
    reasons: dict[str, str] = {}
    frames = evaluate_each(ds, list(ids), grain.with_(by=(OWNER,), period=None), config, reasons)
    by_owner: dict[str, dict[str, float | None]] = {}
    for kpi_id, frame in frames.items():
        for (owner,), rows in frame.group_by(OWNER, maintain_order=True):
            if owner is not None:
                by_owner.setdefault(str(owner), {})[kpi_id] = _single_value(rows, None)[0]
        metric = CATALOG[kpi_id]
        table = metric.needs[0][0] if metric.needs else ""
        if metric.additive and ds.has(table, OWNER):
            # An owner active in the window but with nothing counted (no deal won) has 0.
            for owner in active_owners(ds.frames[table], grain):
                by_owner.setdefault(owner, {}).setdefault(kpi_id, 0.0)
    return by_owner, reasons


def active_owners(frame: pl.DataFrame, grain: Grain) -> list[str]:
    """Owners with a row dated inside the window (any date column), or with any row at all."""
    dates = [c for c, t in frame.schema.items() if isinstance(t, pl.Datetime)]
    if dates and (grain.since is not None or grain.until is not None):
        inside = []
        for c in dates:
            cond = pl.col(c).is_not_null()
            if grain.since is not None:
                cond &= pl.col(c) >= grain.since
            if grain.until is not None:
                cond &= pl.col(c) < grain.until
            inside.append(cond)
        frame = frame.filter(pl.any_horizontal(inside))
    return sorted(str(o) for o in frame[OWNER].drop_nulls().unique().to_list())


def whole_period(ds: Dataset, grain: Grain, kind: str) -> tuple[str, Grain] | None:
    """The latest whole month, quarter or year before the window's end (else the data's as-of
    moment): its name and its grain. A target `per` period is judged on it."""
    moment = grain.until or ds.data_as_of()
    if moment is None:
        return None
    fiscal = grain.fiscal_year_start_month
    months = {"month": 1, "quarter": 3, "year": 12}[kind]
    start = period_holding(moment - timedelta(microseconds=1), kind, fiscal)
    if add_months(start, months) > moment:
        start = add_months(start, -months)
    since, until = start, add_months(start, months)
    return period_name(start, kind, fiscal), grain.with_(since=since, until=until)


def period_target_alerts(
    kpis: dict[str, KpiValue], targets: dict[str, Target], ds: Dataset, config: Config,
    grain: Grain,
) -> list[Alert]:  # fmt: skip
    """Team targets with `per`: each KPI over the latest whole period of that kind."""
    alerts: list[Alert] = []
    for kind in sorted({target.per for target in targets.values() if target.per}):
        chosen = {k: target for k, target in targets.items() if target.per == kind and k in kpis}
        period = whole_period(ds, grain, kind)
        if period is None:
            continue
        name, period_grain = period
        values = compute_kpis(list(chosen), ds, config, period_grain)
        for kpi_id, target in chosen.items():
            judged = values[kpi_id]
            judged.label = f"{judged.label} ({name})"
            alerts += target_alerts({kpi_id: judged}, {kpi_id: target})
            kpis[kpi_id].target = f"{judged.target} ({name}: "
            kpis[kpi_id].target += f"{format_value(judged.value, judged.unit)})"
            kpis[kpi_id].status = judged.status
    return alerts


def owner_target_alerts(ds: Dataset, config: Config, grain: Grain) -> list[Alert]:
    """Every owner against `[targets.by_owner]`, and named owners against their own tables;
    a target `per` period is judged on the latest whole period of that kind."""
    targets = project_targets(config)
    alerts: list[Alert] = []
    periods = sorted(
        {t.per or "" for t in targets.every_owner.values()}
        | {t.per or "" for own in targets.per_owner.values() for t in own.values()}
    )
    for kind in periods:
        period = whole_period(ds, grain, kind) if kind else ("", grain)
        if period is not None:
            alerts += _owner_alerts(ds, config, targets, kind or None, *period)
    return alerts


def _owner_alerts(
    ds: Dataset, config: Config, targets: Targets, kind: str | None, name: str, grain: Grain
) -> list[Alert]:
    ids = {k for own in [targets.every_owner, *targets.per_owner.values()]
           for k, t in own.items() if t.per == kind}  # fmt: skip
    values, reasons = owner_values(sorted(ids), ds, config, grain)
    alerts = [
        Alert(KIND_QUALITY, f"{CATALOG[k].label}: per-owner targets not checked ({why})", kpi=k)
        for k, why in reasons.items()
    ]
    named = {o for o, own in targets.per_owner.items() if any(t.per == kind for t in own.values())}
    for owner in sorted(named - set(values)):
        alerts.append(
            Alert(KIND_QUALITY, f"{owner} has targets but no rows in the data", owner=owner)
        )
    where = f" ({name})" if name else ""
    for owner in sorted(values):
        own = {
            k: t for k, t in targets.for_owner(owner).items() if k not in reasons and t.per == kind
        }
        kpis = {
            k: KpiValue(k, CATALOG[k].label + where, CATALOG[k].unit, values[owner].get(k))
            for k in own
        }
        alerts += [a for a in target_alerts(kpis, own, owner) if a.kind == KIND_TARGET]
    return alerts


def _moved_badly(direction: str, change: float, threshold: float) -> bool:
    if direction == "higher":
        return change < -threshold
    if direction == "lower":
        return change > threshold
    return False


# What the rows behind an aggregate are, by its table and date.
ROW_NOUNS = {
    ("deals", "created_at"): "deals created",
    ("deals", "closed_at"): "deals closed",
    ("leads", "created_at"): "leads",
    ("activities", "at"): "activities",
    ("spend", "date"): "spend rows",
    ("nps", "answered_at"): "answers",
}
Support = tuple[float | None, float | None, str | None]


def change_support(report: Report, ds: Dataset) -> dict[str, Support]:
    """Per KPI, the rows behind its value in the two compared periods and what they are: an
    additive count stands for itself, a KPI naming a `support` count reads that count's
    values, an aggregate counts its own rows. KPIs without either are not in the result."""
    comparison = report.comparison
    if comparison is None or comparison.previous is None:
        return {}
    out: dict[str, Support] = {}
    for kpi in report.kpis.values():
        metric = CATALOG.get(kpi.id)
        if metric is None:
            continue
        if metric.unit == "count" and metric.additive:
            out[kpi.id] = (kpi.latest, kpi.previous, None)
        elif metric.support in report.kpis:
            basis = report.kpis[metric.support]
            out[kpi.id] = (basis.latest, basis.previous, basis.label.lower())
        elif isinstance(metric.compute, Aggregate):
            counted = _rows_in(ds, metric.compute, [comparison.current, comparison.previous])
            if counted is not None:
                noun = ROW_NOUNS.get((metric.compute.table, metric.compute.date), "rows")
                out[kpi.id] = (*counted, noun)
    return out


def _rows_in(
    ds: Dataset, compute: Aggregate, windows: list[tuple[datetime, datetime]]
) -> tuple[int, int] | None:
    frame = ds.frames.get(compute.table)
    if frame is None or compute.date not in frame.columns:
        return None
    date = frame[compute.date]
    current, previous = (int(((date >= lo) & (date < hi)).sum()) for lo, hi in windows)
    return current, previous


def _too_few(support: Support | None, min_rows: int) -> bool:
    if support is None:
        return False
    now, before, _ = support
    return now is None or before is None or min(now, before) < min_rows


def change_alerts(
    kpis: Iterable[KpiValue],
    threshold: float | None,
    comparison: str | None = None,
    by_kpi: dict[str, float | None] | None = None,
    *,
    support: dict[str, Support] | None = None,
    min_rows: int = 0,
) -> list[Alert]:
    """A KPI moving more than `threshold` (a share; `by_kpi` overrides it per KPI, None: never)
    in its bad direction: against the previous period (`comparison` names the two, e.g.
    "May 2025 vs Apr 2025"), and, for point-in-time KPIs, against the last saved run.

    A move over fewer than `min_rows` rows on either side (`support`, see change_support) is
    noise, not news; a cohort rate (close rate) always looks worse in its latest periods and
    is never alerted on."""
    alerts = []
    support = support or {}
    for kpi in kpis:
        limit = (by_kpi or {}).get(kpi.id, threshold)
        metric = CATALOG.get(kpi.id)
        if limit is None or (metric is not None and metric.cohort):
            continue
        now = kpi.latest if kpi.latest is not None else kpi.value
        behind = support.get(kpi.id)
        period_words: Any = (
            (lambda words=comparison: comparison_words(words))
            if comparison
            else message("against the previous period")
        )
        if behind is not None and behind[2] is not None and None not in behind[:2]:
            period_words = message(
                "{period}, {now} vs {before} {rows}",
                period=period_words,
                now=Shown(behind[0]),
                before=Shown(behind[1]),
                rows=lambda noun=behind[2]: t(noun, "rows"),
            )
        for change, before, against in (
            (
                None if _too_few(behind, min_rows) else kpi.change,
                kpi.previous,
                period_words,
            ),
            (
                relative_change(kpi.value, kpi.history_previous),
                kpi.history_previous,
                message("since the last saved run"),
            ),
        ):
            if change is None or not _moved_badly(kpi.direction, change, limit):
                continue
            current = kpi.value if before is kpi.history_previous else now
            said = change_message(kpi, change, before, current, against)
            alerts.append(Alert(KIND_CHANGE, said.text(), severity="warn", kpi=kpi.id, text=said))
    return alerts


def change_message(
    kpi: KpiValue, change: float, before: float | None, current: float | None, against: Any
) -> Message:
    parts = {
        "kpi": Label(kpi.id, kpi.label),
        "change": lambda: percent_text(abs(change), 0),
        "before": Shown(before, kpi.unit),
        "current": Shown(current, kpi.unit),
        "against": against,
    }
    if change < 0:
        return message("{kpi} fell {change}: {before} -> {current} ({against})", **parts)
    return message("{kpi} rose {change}: {before} -> {current} ({against})", **parts)


def quality_alerts(
    report: Report, ds: Dataset, settings: AlertSettings, grain: Grain, now: float | None = None
) -> list[Alert]:
    """Rows rejected, files older than the allowed age, and periods with no rows at all."""
    now = time.time() if now is None else now
    alerts = []
    for item in report.inputs:
        name = item.path + (f" [{item.sheet}]" if item.sheet else "")
        if item.rows_read and item.rows_rejected / item.rows_read > settings.max_rejected_share:
            said = message(
                "{file}: {rejected} of {read} rows rejected{reasons}",
                file=name,
                rejected=lambda n=item.rows_rejected: number_text(n, 0, group=False),
                read=lambda n=item.rows_read: number_text(n, 0, group=False),
                reasons=main_reasons(ds.rejects, name),
            )
            alerts.append(Alert(KIND_QUALITY, said.text(), text=said))
        if settings.max_file_age_days is not None and item.modified_at is not None:
            age_days = (now - item.modified_at) / 86_400
            if age_days > settings.max_file_age_days:
                alerts.append(
                    Alert(
                        KIND_QUALITY,
                        f"{name}: file is {age_days:.1f} days old "
                        f"(allowed {settings.max_file_age_days:g})",
                    )
                )
    if settings.no_data_period is not None:
        alerts += empty_period_alerts(ds, grain.with_(period=settings.no_data_period, by=()))
    alerts += fact_alerts(ds)
    alerts += [Alert(KIND_QUALITY, conflict) for conflict in ds.conflicts]
    return alerts


def main_reasons(rejects: pl.DataFrame, file: str, shown: int = 3) -> str:
    """' (500 missing engage_date; 3 blank)': the commonest reasons a file's rows were
    rejected, a cell's own text left out so that one reason gathers all its rows."""
    rows = rejects.filter((pl.col("file") == file) & (pl.col("action") == "rejected"))
    if rows.height == 0:
        return ""
    kind = pl.col("reason").str.replace(r"cannot read '.*' as", "cannot read a value as")
    counts = rows.group_by(kind).len().sort(["len", "reason"], descending=[True, False])
    parts = [f"{n} {reason}" for reason, n in counts.head(shown).iter_rows()]
    more = counts.height - shown
    return " (" + "; ".join(parts) + (f"; {more} other reasons" if more > 0 else "") + ")"


def fact_alerts(ds: Dataset) -> list[Alert]:
    """Rows kept but suspect (duplicate ids, closed before created, negative amounts...), per
    file: they count in the KPIs, so the reader must be told. Mixed currencies are left to the
    KPIs, which already split money per currency and say so."""
    facts = quality_facts(ds).filter(pl.col("fact") != "mixed_currencies")
    per_file = facts.group_by(["file", "fact"]).agg(pl.col("count").sum()).sort(["file", "fact"])
    return [
        Alert(KIND_QUALITY, said.text(), text=said)
        for said in (
            message(
                "{file}: {count} {fact}",
                file=file,
                count=lambda n=count: number_text(n, 0, group=False),
                fact=lambda words=FACTS[fact]: t(words, "fact"),
            )
            for file, fact, count in per_file.iter_rows()
        )
    ] + [
        Alert(KIND_QUALITY, f"{file}: {count} {message}")
        for file, message, count in undated_rows(ds)
    ]


def empty_periods(dates: pl.Series, grain: Grain) -> list[datetime]:
    """Starts of the periods inside the window (or the data's span) that hold no date at all."""
    assert grain.period is not None
    dates = dates.drop_nulls()
    if grain.since is not None:
        dates = dates.filter(dates >= grain.since)
    if grain.until is not None:
        dates = dates.filter(dates < grain.until)
    if dates.is_empty() and (grain.since is None or grain.until is None):
        return []
    lo = grain.since if grain.since is not None else dates.min()
    hi = grain.until if grain.until is not None else dates.max()
    bounds = pl.DataFrame({"d": [lo, hi]}, schema={"d": pl.Datetime("us")})
    first, last = bounds.select(period_start(pl.col("d"), grain))["d"].to_list()
    if grain.since is not None and first < grain.since:
        first = shift(first, grain.period, 1, grain.calendar)  # partial first period: not judged
    starts = (
        pl.select(
            calendars.period_ranges(pl.lit(first), pl.lit(last), grain.period, grain.calendar)
        )
        .to_series()
        .explode()
    )
    if grain.until is not None:  # only periods the window covers to their end
        ends = calendars.period_shift(pl.lit(starts), grain.period, 1, grain.calendar)
        starts = starts.filter(pl.select(ends).to_series() <= grain.until)
    # Periods are whole days or longer: place each distinct day, not each row.
    days = dates.dt.truncate("1d").unique()
    periods = pl.DataFrame({"d": days}).select(period_start(pl.col("d"), grain).alias(PERIOD))
    present = set(periods[PERIOD].unique().to_list())
    return [s for s in starts.to_list() if s not in present]


def _period_label(start: datetime, grain: Grain) -> str:
    period = grain.period
    if grain.calendar != "gregorian" and period in ("month", "quarter"):
        return calendars.period_label(start, period, grain.calendar, grain.fiscal_year_start_month)
    if period == "month":
        return start.strftime("%Y-%m")
    if period == "quarter":
        return f"{start:%Y-%m} quarter"
    if period == "week":
        return f"week of {start:%Y-%m-%d}"
    return start.strftime("%Y-%m-%d")


def empty_period_alerts(ds: Dataset, grain: Grain) -> list[Alert]:
    """One alert per flow table with empty periods, listing them (a missing slice of export)."""
    assert grain.period is not None
    alerts = []
    for table, column in FLOW_DATES:
        if not ds.has(table, column) or ds.frames[table].height == 0:
            continue
        gaps = empty_periods(ds.frames[table][column], grain)
        if not gaps:
            continue
        shown = ", ".join(_period_label(g, grain) for g in gaps[:6])
        more = f" and {len(gaps) - 6} more" if len(gaps) > 6 else ""
        plural = "s" if len(gaps) > 1 else ""
        alerts.append(
            Alert(
                KIND_QUALITY,
                f"no {_FLOW_NOUNS[table]} in {len(gaps)} {grain.period}{plural}: {shown}{more}",
            )
        )
    return alerts
