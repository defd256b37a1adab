"""The report model: KPI values and tables in sections, built once and read by every renderer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from crmkpi.dataset import InputSummary


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
    change: float | None = None  # relative change against previous period
    trend: list[tuple[str, float | None]] = field(default_factory=list)
    history_previous: float | None = None  # value at the previous saved run

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "unit": self.unit, "label": self.label}
        for key in ("reason", "currency", "by_currency", "target", "status", "previous", "change"):
            val = getattr(self, key)
            if val is not None:
                out[key] = val
        if self.history_previous is not None:
            out["history_previous"] = self.history_previous
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


@dataclass
class Alert:
    kind: str  # target, change, quality
    message: str
    severity: str = "warn"  # warn or bad
    kpi: str | None = None
    owner: str | None = None

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
