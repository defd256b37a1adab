"""`explain`: how a KPI value came about, so a manager can check it against the CRM.

Written from the Metric declaration (crmkpi.metrics.kinds), not per KPI and never from Polars'
plan: the definition and kind, the table and columns it reads, the rows left out on the way
(empty or out-of-window dates), the rows split by the text columns its parts read (status won /
lost / open), each part's value, and the arithmetic: a ratio's numerator and denominator get
their own line, "won 612 / (won 612 + lost 1,021) = 0.3748"; a KPI derived from others shows
each of their values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from crmkpi.dataset import Dataset
from crmkpi.metrics.base import VALUE, Aggregate, Context, Grain, Metric, Needs
from crmkpi.metrics.evaluate import evaluate
from crmkpi.metrics.kinds import Measure
from crmkpi.metrics.value_text import format_value

MAX_GROUPS = 12


@dataclass(frozen=True)
class Step:
    """A line of the row account: `rows` left out (or kept) and why."""

    label: str
    rows: int


@dataclass(frozen=True)
class Group:
    """Window rows sharing the values of the formula's text columns, and where they count."""

    label: str
    rows: int
    parts: dict[str, float | None]  # part name -> contribution of this group
    counted: bool


@dataclass(frozen=True)
class Part:
    """One aggregate of the formula (numerator, denominator, or the value itself)."""

    name: str
    text: str
    value: float | None
    rows: int  # rows that entered the aggregate
    empty: dict[str, int] = field(default_factory=dict)  # column -> matching rows with no value


@dataclass(frozen=True)
class Explanation:
    id: str
    label: str
    kind: str
    formula: str
    unit: str
    direction: str
    period_date: str
    notes: str
    reference: str
    table: str | None
    columns: tuple[str, ...]
    window: tuple[datetime | None, datetime | None]
    where: str | None
    steps: tuple[Step, ...]
    group_columns: tuple[str, ...]
    groups: tuple[Group, ...]
    parts: tuple[Part, ...]
    arithmetic: str
    value: float | None
    values_by_currency: dict[str, float | None] = field(default_factory=dict)
    # Parts named in words only (a compute written by hand): name -> what it counts or adds.
    named_parts: tuple[tuple[str, str], ...] = ()

    def to_text(self) -> str:
        better = {"higher": "higher is better", "lower": "lower is better"}.get(self.direction)
        lines = [f"{self.id}: {self.label}", f"  Definition: {self.formula}"]
        lines.append(f"  Kind: {self.kind}")
        lines.append("  Unit: " + ", ".join(x for x in (self.unit, better) if x))
        if self.period_date:
            place = f"{self.table}.{self.period_date}" if self.table else self.period_date
            lines.append(f"  Placed in periods by: {place}")
        lines += [f"  Notes: {self.notes}"] * bool(self.notes)
        lines += [f"  Reference: {self.reference}"] * bool(self.reference)
        if self.table:
            lines += ["", f"Reads {self.table}: {', '.join(self.columns)}"]
        since, until = self.window
        if since or until:
            span = f"{day_text(since) if since else '...'} to {day_text(until) if until else '...'}"
            lines.append(f"  Window: {span} (end exclusive)")
        if self.where:
            lines.append(f"  Filter (--where): {self.where}")
        if self.steps:
            lines += ["", "Rows"]
            width = max(len(f"{s.rows:,}") for s in self.steps)
            lines += [f"  {s.rows:>{width},}  {s.label}" for s in self.steps]
        if self.groups:
            lines += ["", f"By {', '.join(self.group_columns)}"]
            width = max(len(g.label) for g in self.groups)
            for g in self.groups:
                where = ", ".join(
                    f"{name} {format_value(v, '')}" for name, v in g.parts.items() if v
                )
                status = f"counted: {where}" if g.counted else "left out: counts in no part"
                lines.append(f"  {g.label:<{width}}  {g.rows:>8,} rows  {status}")
        if self.named_parts:
            lines += ["", "Parts"]
            lines += [f"  {name}: {text}" for name, text in self.named_parts]
        if self.parts:
            lines += ["", "Arithmetic"]
            for p in self.parts:
                lines.append(f"  {p.name} = {p.text} = {format_value(p.value, '')} "
                             f"({p.rows:,} rows)")  # fmt: skip
                for column, rows in p.empty.items():
                    lines.append(f"    {column} empty in {rows:,} matching rows: not counted")
        if self.arithmetic:
            lines.append(f"  {self.arithmetic}")
        for currency, value in self.values_by_currency.items():
            lines.append(f"  {self.id} [{currency}] = {format_value(value, self.unit)}")
        lines += ["", f"Value: {format_value(self.value, self.unit)}"]
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        since, until = self.window
        return {
            "id": self.id,
            "label": self.label,
            "kind": self.kind,
            "formula": self.formula,
            "unit": self.unit,
            "direction": self.direction,
            "period_date": self.period_date,
            "notes": self.notes,
            "reference": self.reference,
            "table": self.table,
            "columns": list(self.columns),
            "window": {
                "since": since.isoformat() if since else None,
                "until": until.isoformat() if until else None,
            },
            "where": self.where,
            "steps": [{"label": s.label, "rows": s.rows} for s in self.steps],
            "group_columns": list(self.group_columns),
            "groups": [
                {"label": g.label, "rows": g.rows, "parts": g.parts, "counted": g.counted}
                for g in self.groups
            ],
            "parts": [
                {
                    "name": p.name,
                    "expression": p.text,
                    "value": p.value,
                    "rows": p.rows,
                    "empty": p.empty,
                }
                for p in self.parts
            ],  # fmt: skip
            "arithmetic": self.arithmetic,
            "value": self.value,
            "values_by_currency": self.values_by_currency,
            "named_parts": dict(self.named_parts),
        }


def explain(ds: Dataset, metric: Metric, grain: Grain, where: str | None = None) -> Explanation:
    """How the value of `metric` at `grain` comes from the rows of `ds` (already narrowed by
    the --where filter, whose text is `where`)."""
    table = metric.needs[0][0] if metric.needs else None
    result = evaluate(ds, [metric.id], grain, ds.config)[metric.id]
    by_currency: dict[str, float | None] = {}
    if "currency" in result.columns and result.height > 1:
        by_currency = {str(r["currency"]): r[VALUE] for r in result.iter_rows(named=True)}
    value = result[VALUE][0] if result.height == 1 else None
    base = {
        "id": metric.id, "label": metric.label, "kind": str(metric.kind),
        "formula": metric.formula, "unit": metric.unit, "direction": metric.direction,
        "period_date": metric.period_date, "notes": metric.notes, "reference": metric.reference,
        "window": (grain.since, grain.until), "where": where,
        "value": None if value is None else float(value), "values_by_currency": by_currency,
    }  # fmt: skip
    compute = metric.compute
    if not isinstance(compute, Aggregate):
        columns = tuple(c for _, cols in metric.needs for c in cols)
        steps = _needed_columns_steps(ds, metric.needs)
        arithmetic = _derived_arithmetic(metric, ds, grain)
        named = tuple((name, m.text) for name, m in metric.measures())
        if metric.account is not None:
            named += metric.account(Context(ds, grain, ds.config))
        return Explanation(
            **base, table=table, columns=columns, steps=steps, group_columns=(), groups=(),
            parts=(), arithmetic=arithmetic, named_parts=named,
        )  # fmt: skip
    ctx = Context(ds, grain, ds.config)
    frame = ctx.table(compute.table)
    steps = [Step(f"rows in {compute.table}", frame.select(pl.len()).collect().item())]
    schema = frame.collect_schema()
    measures = metric.measures()
    used = list(dict.fromkeys(c for _, m in measures for c in columns_read(m)))
    text_columns = tuple(c for c in used if c in schema and _is_text(schema[c]))
    steps += _window_steps(frame, compute.date, grain, text_columns)
    rows = compute.rows(ctx).collect()
    accounted = sum(s.rows for s in steps)
    if accounted != rows.height:
        steps.append(Step("left out converting currencies", rows.height - accounted))
    windowed = grain.since is not None or grain.until is not None
    steps.append(Step("rows in the window" if windowed else "rows used", rows.height))
    part_results = tuple(_evaluate_part(name, measure, rows) for name, measure in measures)
    groups = _groups(rows, text_columns, measures) if text_columns else ()
    return Explanation(
        **base,
        table=compute.table,
        columns=tuple(dict.fromkeys([*used, compute.date])),
        steps=tuple(steps),
        group_columns=text_columns,
        groups=groups,
        parts=part_results,
        arithmetic=_arithmetic(metric.id, measures, part_results, groups, value),
    )


def columns_read(measure: Measure) -> list[str]:
    """The columns a measure reads: its value's, then its rows' condition's."""
    exprs = [e for e in (measure.of, measure.value, measure.where) if e is not None]
    return [c for e in exprs for c in e.meta.root_names()]


def _needed_columns_steps(ds: Dataset, needs: Needs) -> tuple[Step, ...]:
    """Rows of each table a KPI reads, and how many have an empty cell in a column it needs."""
    steps: list[Step] = []
    for table, columns in needs:
        frame = ds.frames.get(table)
        if frame is None:
            continue
        steps.append(Step(f"rows in {table}", frame.height))
        present = [c for c in columns if c in frame.columns]
        if present:
            empty = frame.select(pl.col(present).null_count()).row(0, named=True)
            steps += [Step(f"{table}.{c} empty", n) for c, n in empty.items() if n]
    return tuple(steps)


def day_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d") if not (moment.hour or moment.minute) else str(moment)


def _is_text(dtype: pl.DataType) -> bool:
    return dtype == pl.String or dtype == pl.Boolean or isinstance(dtype, pl.Categorical | pl.Enum)


def _window_steps(
    frame: pl.LazyFrame, date: str, grain: Grain, text_columns: tuple[str, ...]
) -> list[Step]:
    """Rows left out by the window (empty date, before `since`, on or after `until`), each
    with its most common values of the formula's text columns: "(status open 208)"."""
    if grain.since is None and grain.until is None:
        return []
    col = pl.col(date)
    conditions = [("empty", col.is_null())]
    if grain.since is not None:
        conditions.append((f"before {day_text(grain.since)}", col < grain.since))
    if grain.until is not None:
        conditions.append((f"on or after {day_text(grain.until)}", col >= grain.until))
    plans = []
    for _, condition in conditions:
        left_out = frame.filter(condition)
        if text_columns:
            plans.append(left_out.group_by(list(text_columns)).agg(pl.len().alias("__rows")))
        else:
            plans.append(left_out.select(pl.len().alias("__rows")))
    steps = []
    for (label, _), counts in zip(conditions, pl.collect_all(plans), strict=True):
        total = int(counts["__rows"].sum())
        detail = ""
        if text_columns and total:
            top = counts.sort("__rows", descending=True).head(4)
            shown = [
                " / ".join("empty" if r[c] is None else str(r[c]) for c in text_columns)
                + f" {r['__rows']:,}"
                for r in top.iter_rows(named=True)
            ]
            more = ", ..." if counts.height > 4 else ""
            detail = f" ({', '.join(text_columns)}: {', '.join(shown)}{more})"
        steps.append(Step(f"left out: {date} {label}{detail}", -total))
    return steps


def _evaluate_part(name: str, measure: Measure, rows: pl.DataFrame) -> Part:
    """The measure's value over the window's rows, the rows that entered it, and the rows its
    condition selects but that have no value to take (a won deal without an amount)."""
    selects = [measure.expr().alias("__value"), measure.entering().sum().alias("__rows")]
    if measure.of is not None:
        selects.append((measure.matching() & measure.of.is_null()).sum().alias("__empty"))
    out = rows.select(selects).row(0, named=True)
    empty = {}
    if out.get("__empty"):
        assert measure.of is not None
        empty = {", ".join(measure.of.meta.root_names()): int(out["__empty"])}
    value = out["__value"]
    return Part(name, measure.text, None if value is None else float(value), out["__rows"], empty)


def _groups(
    rows: pl.DataFrame, columns: tuple[str, ...], parts: list[tuple[str, Measure]]
) -> tuple[Group, ...]:
    aggs = [measure.expr().alias(name) for name, measure in parts]
    table = (
        rows.group_by(list(columns))
        .agg(pl.len().alias("__rows"), *aggs)
        .sort("__rows", *columns, descending=[True] + [False] * len(columns), nulls_last=True)
    )
    out = []
    for i, row in enumerate(table.iter_rows(named=True)):
        if i == MAX_GROUPS:
            rest = table.slice(MAX_GROUPS)
            out.append(Group(f"{rest.height} other values", int(rest["__rows"].sum()), {}, True))
            break
        label = " / ".join("empty" if row[c] is None else str(row[c]) for c in columns)
        contributions = {n: (None if row[n] is None else float(row[n])) for n, _ in parts}
        counted = any(v for v in contributions.values())
        out.append(Group(label, row["__rows"], contributions, counted))
    return tuple(out)


def _arithmetic(
    kpi: str,
    parts: list[tuple[str, Measure]],
    results: tuple[Part, ...],
    groups: tuple[Group, ...],
    value: float | None,
) -> str:
    def sides(name: str, total: float | None) -> str:
        # Groups in the numerator first, so "won 3 / (won 3 + lost 2)" reads left to right.
        ordered = sorted(groups, key=lambda g: not g.parts.get("numerator"))
        shares = [(g.label, g.parts.get(name)) for g in ordered if g.parts.get(name)]
        if len(shares) == 1:
            return f"{shares[0][0]} {format_value(shares[0][1], '')}"
        if len(shares) > 1:
            return "(" + " + ".join(f"{lbl} {format_value(v, '')}" for lbl, v in shares) + ")"
        return format_value(total, "")

    shown = "null" if value is None else f"{value:.4f}".rstrip("0").rstrip(".")
    if len(parts) == 2:
        num, den = results
        if not den.value:
            return f"{kpi} = {sides('numerator', num.value)} / 0: no value (nothing to divide by)"
        return f"{kpi} = {sides('numerator', num.value)} / {sides('denominator', den.value)}" \
               f" = {shown}"  # fmt: skip
    return ""


def _derived_arithmetic(metric: Metric, ds: Dataset, grain: Grain) -> str:
    """For a KPI computed from other KPIs: each one's value beside the formula."""
    if not metric.inputs:
        return ""
    results = evaluate(ds, [m.id for m in metric.inputs], grain, ds.config, skipped={})
    shown = []
    for m in metric.inputs:
        frame = results.get(m.id)
        v = frame[VALUE][0] if frame is not None and frame.height == 1 else None
        shown.append(f"{m.id} {format_value(v, m.unit)}")
    return f"{metric.formula}, with " + ", ".join(shown)
