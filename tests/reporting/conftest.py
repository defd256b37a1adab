"""A report model built by hand, so renderer tests do not move when the KPI catalog grows."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest
from injected_text import INJECTED  # noqa: E402

from crmkpi.dataset import InputSummary
from crmkpi.metrics.base import ColumnLayout
from crmkpi.reporting.model import Alert, Comparison, KpiValue, Report, Section, TableResult

MONTHS = [f"2025-{m:02d}" for m in range(1, 7)]


def hand_report() -> Report:
    kpis = {
        "deals_won": KpiValue(
            "deals_won",
            "Deals won",
            "count",
            35.0,
            direction="higher",
            group="Pipeline",
            formula="count of deals with status won",
            latest=7.0,
            previous=5.0,
            change=0.4,
            delta=2.0,
            trend=list(zip(MONTHS, [3.0, 5.0, None, 6.0, 5.0, 7.0], strict=True)),
        ),
        "win_rate": KpiValue(
            "win_rate",
            "Win rate",
            "ratio",
            0.3125,
            direction="higher",
            group="Pipeline",
            formula="won / (won + lost)",
            target=">= 30%",
            status="ok",
            latest=0.35,
            previous=0.25,
            change=0.4,
            delta=0.1,
            trend=list(zip(MONTHS, [0.2, 0.25, 0.3, 0.3, 0.25, 0.35], strict=True)),
        ),
        "revenue_won": KpiValue(
            "revenue_won",
            "Revenue won",
            "currency",
            123456.0,
            direction="higher",
            group="Pipeline",
            formula="sum of amount of won deals",
            currency="EUR",
            target=">= 150,000",
            status="bad",
            latest=20000.0,
            previous=25000.0,
            change=-0.2,
            delta=-5000.0,
            trend=list(zip(MONTHS, [10e3, 30e3, 25e3, 18e3, 25e3, 20e3], strict=True)),
        ),
        "sales_cycle_days_median": KpiValue(
            "sales_cycle_days_median",
            "Sales cycle (median)",
            "days",
            41.5,
            direction="lower",
            group="Pipeline",
            formula="median of closed_at - created_at",
            status="warn",
            target="<= 40 d",
        ),
        "leads_created": KpiValue(
            "leads_created",
            "Leads created",
            "count",
            210.0,
            group="Leads",
            formula="count of leads",
        ),
        "mrr": KpiValue(
            "mrr",
            "MRR",
            "currency",
            None,
            group="SaaS",
            formula="sum of mrr of live rows",
            by_currency={"EUR": 5000.0, "USD": 1200.0},
            reason="mixed currencies (EUR, USD); see by_currency",
        ),
    }
    funnel = pl.DataFrame(
        {
            "stage": ["Lead", "Qualified", "Proposal", "(won)"],
            "reached": [100, 60, 30, 12],
            "conversion_from_previous": [None, 0.6, 0.5, 0.4],
        }
    )
    owners = pl.DataFrame(
        {
            "owner": ["Ana Ruiz", INJECTED, "Chen Li"],
            "deals_won": [20, 10, 5],
            "win_rate": [0.4, 0.25, 0.2],
            "revenue_won": [80000.0, 30000.0, 13456.0],
        }
    )
    stuck = pl.DataFrame(
        {
            "id": [f"D{i:03d}" for i in range(20)],
            "name": [f"Very long deal name number {i} for Example Corp" for i in range(20)],
            "owner": ["Ana Ruiz"] * 20,
            "stage": ["Proposal"] * 20,
            "amount": [1000.0 * (i + 1) for i in range(20)],
            "days_in_stage": [100.0 - i for i in range(20)],
        }
    )
    movements = pl.DataFrame(
        {
            "period": [datetime(2025, m, 1) for m in (4, 5, 6)],
            "currency": ["EUR"] * 3,
            "new": [500.0, 700.0, 300.0],
            "churned": [-100.0, 0.0, -250.0],
        }
    )
    tables = {
        "funnel": TableResult("funnel", "Funnel", funnel, units={"reached": "count",
                              "conversion_from_previous": "ratio"}, note="from current stages"),
        "owners": TableResult("owners", "Owners", owners, units={"deals_won": "count",
                              "win_rate": "ratio", "revenue_won": "currency"},
                              layout=ColumnLayout(essential=("owner", "rank"),
                                                  ranked_by=(("rank", "revenue_won"),))),
        "stuck_deals": TableResult("stuck_deals", "Stuck deals", stuck,
                                   units={"amount": "currency", "days_in_stage": "days"},
                                   layout=ColumnLayout(essential=("name", "owner", "stage",
                                                                  "days_in_stage"))),
        "mrr_movements": TableResult("mrr_movements", "MRR movements", movements,
                                     units={"new": "currency", "churned": "currency"}),
    }  # fmt: skip
    sections = [
        Section("kpis", "Key figures", ["deals_won", "win_rate", "revenue_won",
                                        "sales_cycle_days_median", "leads_created"]),
        Section("funnel", "Funnel", [], ["funnel"]),
        Section("owners", "Owners", [], ["owners"]),
        Section("sources", "Sources", skipped="deals has no source column"),
        Section("stuck_deals", "Stuck deals", [], ["stuck_deals"]),
        Section("saas", "SaaS", ["mrr"], ["mrr_movements"]),
    ]  # fmt: skip
    return Report(
        title="Northwind sales",
        generated_at=datetime(2025, 7, 1, 8, 0),
        window=(datetime(2025, 6, 1), datetime(2025, 7, 1)),
        period="month",
        inputs=[
            InputSummary("exports/deals.csv", "deals", 120, 118, 2),
            InputSummary("exports/leads.csv", "leads", 210, 210, 0),
        ],
        kpis=kpis,
        tables=tables,
        sections=sections,
        skipped=[
            {"kpi": "pipeline_coverage", "reason": "no quota configured"},
            {"table": "sources", "reason": "deals has no source column"},
        ],  # fmt: skip
        alerts=[
            Alert("target", "Revenue won 123,456 below target 150,000", "bad", kpi="revenue_won"),
            Alert("quality", "exports/deals.csv: 2 of 120 rows rejected", "warn"),
        ],
        version="9.9.9",
        data_span=(datetime(2025, 1, 3), datetime(2025, 6, 28)),
        comparison=Comparison(
            current=(datetime(2025, 6, 1), datetime(2025, 7, 1)),
            previous=(datetime(2025, 5, 1), datetime(2025, 6, 1)),
            label="vs May 2025",
            basis="window",
        ),
    )


@pytest.fixture
def report() -> Report:
    return hand_report()
