"""The report model: KPI values and tables in sections, built once and read by every renderer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from crmkpi.dataset import InputSummary
from crmkpi.metrics.base import ColumnLayout
from crmkpi.reporting.output import render_to_file, renderer

STATUSES = ("ok", "warn", "bad")


@dataclass
class KpiValue:
    """One KPI's value with what the reader needs beside it: target, status, change, trend."""

    id: str
    label: str
    unit: str
    value: float | None
    direction: str = "neutral"
    reason: str | None = None  # why value is null
    currency: str | None = None
    by_currency: dict[str, float | None] | None = None
    target: str | None = None
    status: str | None = None  # ok, warn, bad
    previous: float | None = None
    change: float | None = None  # relative change of `latest` against `previous`
    latest: float | None = None  # value in Report.comparison.current (the window, or last period)
    delta: float | None = None  # latest - previous, in the KPI's unit
    trend: list[tuple[str, float | None]] = field(default_factory=list)
    history_previous: float | None = None  # value at the previous saved run
    group: str = ""  # the KPI table's group heading (Pipeline, Leads, SaaS...)
    formula: str = ""
    point_in_time: bool = False  # a state now (open deals), so no previous period or trend
    window: str = ""  # what the value covers: "as of 2026-10-31" or the window / "all data"
    short_label: str = ""  # shown instead of a label that would not fit its column
    target_words: Any = None  # () -> the target in the active language (crmkpi.reporting.i18n)

    @property
    def change_shown(self) -> tuple[float, str] | None:
        """The change as every format shows it: a ratio in percentage points ("pp"), a score
        in points, anything else relative ("share" of the previous value). A win rate from
        40% to 44% rose 4 pp, not 10%."""
        if self.unit == "ratio" and self.delta is not None:
            return self.delta * 100, "pp"
        if self.unit == "score" and self.delta is not None:
            return self.delta, "points"
        if self.change is not None:
            return self.change, "share"
        return None

    @property
    def change_unit(self) -> str | None:
        shown = self.change_shown
        return None if shown is None else shown[1]

    @property
    def change_value(self) -> float | None:
        shown = self.change_shown
        return None if shown is None else shown[0]

    @property
    def change_direction(self) -> str | None:
        """'good', 'bad' or 'flat' for the change, read through the KPI's direction."""
        shown = self.change_shown
        if shown is None:
            return None
        # a change shown as 0% (or 0.0 pp) is flat, whatever sign it had before rounding
        value, unit = shown
        if round(value * 100 if unit == "share" else value, 0 if unit == "share" else 1) == 0:
            return "flat"
        if self.direction == "neutral":
            return "flat"
        better = value > 0 if self.direction == "higher" else value < 0
        return "good" if better else "bad"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "unit": self.unit, "label": self.label}
        for key in (
            "reason", "currency", "by_currency", "target", "status",
            "latest", "previous", "change", "delta",
        ):  # fmt: skip
            val = getattr(self, key)
            if val is not None:
                out[key] = val
        if self.history_previous is not None:
            out["history_previous"] = self.history_previous
        if self.change_shown is not None:
            out["change_shown"] = {"value": self.change_value, "unit": self.change_unit}
        if self.window:
            out["window"] = self.window
        out["direction"] = self.direction
        if self.group:
            out["group"] = self.group
        if self.trend:
            out["trend"] = [{"period": p, "value": v} for p, v in self.trend]
        return out


@dataclass
class TableResult:
    """A breakdown table; `units` tells renderers how to format each column."""

    id: str
    title: str
    frame: pl.DataFrame
    note: str | None = None
    units: dict[str, str] = field(default_factory=dict)
    doc: str = ""
    layout: ColumnLayout = field(default_factory=ColumnLayout)


@dataclass
class Alert:
    kind: str  # target, change, quality
    message: str
    severity: str = "warn"  # warn or bad
    kpi: str | None = None
    owner: str | None = None
    text: Any = None  # the message as a template (crmkpi.reporting.i18n.Message), to translate

    def to_json(self) -> dict[str, Any]:
        out = {"kind": self.kind, "severity": self.severity, "message": self.message}
        if self.kpi:
            out["kpi"] = self.kpi
        if self.owner:
            out["owner"] = self.owner
        return out


@dataclass
class Section:
    """A named group of KPI ids and table ids, in the order the report shows them."""

    id: str
    title: str
    kpis: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    skipped: str | None = None  # why the whole section has nothing to show


@dataclass
class Comparison:
    """Which stretch of time the KPI values cover and which one `change` compares them to."""

    current: tuple[datetime, datetime]  # [start, end)
    previous: tuple[datetime, datetime] | None
    label: str  # e.g. "vs Apr 2025" or "May 2025 vs Apr 2025"
    basis: str  # "window": value vs the window before; "period": last full period vs the one before
    current_name: str = ""  # column headings: "2025-05", "Apr 2025"
    previous_name: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "current": {"since": self.current[0], "until": self.current[1]},
            "previous": None
            if self.previous is None
            else {"since": self.previous[0], "until": self.previous[1]},
            "label": self.label,
            "basis": self.basis,
        }


@dataclass
class Report:
    title: str
    generated_at: datetime
    window: tuple[datetime | None, datetime | None]
    period: str | None
    inputs: list[InputSummary]
    kpis: dict[str, KpiValue]
    tables: dict[str, TableResult]
    sections: list[Section]
    skipped: list[dict[str, str]] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    version: str = ""
    data_span: tuple[datetime | None, datetime | None] = (None, None)
    comparison: Comparison | None = None
    by: tuple[str, ...] = ()
    trend_partial: bool = False  # the trends' last period is cut short by the data or window
    as_of: datetime | None = None  # the moment "now" means: --as-of, else the latest event
    calendar: str = "gregorian"  # the calendar of its periods (crmkpi.metrics.calendars)
    language: str = "en"  # the reader's language (crmkpi.reporting.i18n): labels, numbers
    digits: str = "native"  # the language's own digits, or "latin"
    table_spans: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)

    @property
    def covered(self) -> tuple[datetime | None, datetime | None]:
        """The period the report covers: the window where given, else the data's own dates."""
        since, until = self.window
        return (since or self.data_span[0], until or self.data_span[1])

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)

    def render(self, fmt: str, **options: Any) -> str | bytes:
        """The report in one format (terminal, json, markdown, csv, excel, html)."""
        return renderer(fmt).render(self, **options)

    def to_json(self) -> str:
        return str(self.render("json"))

    def to_excel(self, path: str | Path) -> None:
        self.write(path, fmt="excel")

    def write(self, path: str | Path, fmt: str | None = None, **options: Any) -> str:
        """Write the report to `path` atomically; the format comes from the extension by default."""
        return render_to_file(self, Path(path), fmt, **options)
