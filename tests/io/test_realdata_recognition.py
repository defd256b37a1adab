"""Real export folders read zero-config (see SOURCES.md in $CRMKPI_REALDATA): every file taken
for what it is, nothing counted twice. Expected values are computed here with the csv module."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import polars as pl
import pytest

from crmkpi import api
from crmkpi.config import parse_config
from crmkpi.errors import InputError
from crmkpi.io.load import load

ROOT = os.environ.get("CRMKPI_REALDATA")
pytestmark = pytest.mark.skipif(not ROOT, reason="CRMKPI_REALDATA not set")
HEADLINE = ["deals_total", "deals_won", "deals_lost", "deals_open", "revenue_won"]


def data(rel: str) -> Path:
    return Path(ROOT or ".") / rel


def rows(rel: str) -> list[dict[str, str]]:
    with open(data(rel), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def accounted(ds) -> None:
    for s in ds.inputs:
        assert s.rows_read == s.rows_loaded + s.rows_rejected, s.path
    rejected = ds.rejects.filter(pl.col("action") == "rejected").height
    assert rejected == sum(s.rows_rejected for s in ds.inputs)


def headline(ds) -> dict[str, float]:
    return {k: v for k, v in api.metric(ds, HEADLINE).row(0, named=True).items() if k in HEADLINE}


def tables(ds) -> dict[str, str]:
    return {Path(s.path).name: s.table for s in ds.inputs}


def unused(ds) -> dict[str, str]:
    return {Path(p).name: why for p, why in ds.unused}


def test_salesforce_excel_history_is_stage_history_not_deals() -> None:
    ds = load([data("salesforce_devorg_excel")])
    accounted(ds)
    opps = rows("salesforce_devorg_excel/Opportunity.csv")
    won = [r for r in opps if r["StageName"] == "Closed Won"]
    lost = [r for r in opps if r["StageName"] == "Closed Lost"]
    assert headline(ds) == {
        "deals_total": len(opps),  # 36, not 36 + 48 history rows
        "deals_won": len(won),
        "deals_lost": len(lost),
        "deals_open": len(opps) - len(won) - len(lost),
        "revenue_won": sum(float(r["Amount"]) for r in won),
    }
    assert tables(ds)["OpportunityHistory.csv"] == "stage_history"
    history = rows("salesforce_devorg_excel/OpportunityHistory.csv")
    assert ds.frames["stage_history"].height == len(history)
    assert set(ds.frames["stage_history"]["deal_id"]) == {r["OpportunityId"] for r in history}


def test_fivetran_salesforce_history_and_line_items_are_not_used() -> None:
    ds = load([data("fivetran_salesforce_seeds")])
    accounted(ds)
    opps = rows("fivetran_salesforce_seeds/sf_opportunity_data.csv")
    # stage names are hashed: the is_won / is_closed flags say how each deal ended
    won = [r for r in opps if r["is_won"].lower() == "true"]
    closed = [r for r in opps if r["is_closed"].lower() == "true"]
    assert headline(ds) == {
        "deals_total": len(opps),  # 10, not 20 with the history snapshot
        "deals_won": len(won),
        "deals_lost": len(closed) - len(won),
        "deals_open": len(opps) - len(closed),
        "revenue_won": sum(float(r["amount"]) for r in won if r["amount"]),
    }
    found = tables(ds)
    assert "sf_opportunity_history_data.csv" not in found
    assert "history of deals" in unused(ds)["sf_opportunity_history_data.csv"]
    assert "line items" in unused(ds)["sf_opportunity_line_item_data.csv"]
    activities = len(rows("fivetran_salesforce_seeds/sf_event_data.csv")) + len(
        rows("fivetran_salesforce_seeds/sf_task_data.csv")
    )
    assert ds.frames["activities"].height == activities  # events and tasks, no line items


def test_fivetran_recurly_reads_no_deals_and_subscriptions_with_one_line() -> None:
    # accounts, invoices, plans, transactions are listed, not read as deals; the subscription
    # history holds an amount per billing period (unit_amount, subtotal), not an MRR: refused
    # zero-config, naming what is missing
    with pytest.raises(
        InputError, match=r"closest is subscriptions, which needs (customer_id; )?mrr"
    ):
        load([data("fivetran_recurly_seeds")])
    folder = data("fivetran_recurly_seeds")
    config = parse_config(
        {"sources": {"subscriptions": {"path": "subscription_history_data.csv",
                                       "columns": {"mrr": "subtotal"}}}},
        folder / "crmkpi.toml",
    )  # fmt: skip
    ds = load([folder], config)
    accounted(ds)
    assert tables(ds) == {"subscription_history_data.csv": "subscriptions"}
    assert "deals" not in ds.frames and "leads" not in ds.frames
    history = rows("fivetran_recurly_seeds/subscription_history_data.csv")
    subs = ds.frames["subscriptions"]
    assert subs.height == len(history)
    assert subs["mrr"].sum() == sum(float(r["subtotal"]) for r in history)
    reasons = unused(ds)
    for name in ("invoice_history_data.csv", "transaction_data.csv", "line_item_history_data.csv",
                 "account_history_data.csv", "plan_history_data.csv"):  # fmt: skip
        assert name in reasons, name


def test_fivetran_hubspot_property_history_is_not_stage_history() -> None:
    ds = load([data("fivetran_hubspot_seeds")])
    accounted(ds)
    # deal_stage_data is HubSpot's stage history; deal_property_history_data holds every
    # property's changes under hashed property names, so none can be told to be the stage
    assert [n for n, t in tables(ds).items() if t == "stage_history"] == ["deal_stage_data.csv"]
    assert ds.frames["stage_history"].height == len(
        rows("fivetran_hubspot_seeds/deal_stage_data.csv")
    )
    assert "every property" in unused(ds)["deal_property_history_data.csv"]
    assert ds.frames["deals"].height == len(rows("fivetran_hubspot_seeds/deal_data.csv"))


def test_maven_v1_csv_and_xlsx_count_once() -> None:
    ds = load([data("maven_crm_v1_xlsx")])
    accounted(ds)
    pipeline = rows("maven_crm_v1_xlsx/sales_pipeline.csv")
    won = [r for r in pipeline if r["deal_stage"] == "Won"]
    lost = [r for r in pipeline if r["deal_stage"] == "Lost"]
    assert headline(ds) == {
        "deals_total": len(pipeline),  # 14,277, not 28,554
        "deals_won": len(won),
        "deals_lost": len(lost),
        "deals_open": len(pipeline) - len(won) - len(lost),
        "revenue_won": sum(float(r["close_value"]) for r in won if r["close_value"]),
    }
    by_file = {Path(s.path).name: s for s in ds.inputs}
    assert by_file["sales_pipeline.csv"].rows_loaded == len(pipeline)
    assert by_file["sales_pipeline.xlsx"].rows_rejected == len(pipeline)
    xlsx_rejects = ds.rejects.filter(pl.col("file").str.ends_with(".xlsx"))
    assert xlsx_rejects["reason"].str.starts_with("duplicate of ").all()
    assert ds.conflicts == []  # the two exports agree row for row


def test_olist_mql_exports_together_keep_each_lead_once() -> None:
    orig = "olist_funnel/olist_marketing_qualified_leads_dataset.csv"
    eu = "olist_funnel_eu_reexport/olist_marketing_qualified_leads_dataset.csv"
    ds = load([data(orig), data(eu)])
    accounted(ds)
    assert ds.frames["leads"].height == len({r["mql_id"] for r in rows(orig)})
    # the re-export prettified the origins (paid_search -> Paid Search) and filled blanks:
    # those leads differ between the files; the others repeat exactly
    with open(data(eu), newline="", encoding="utf-8-sig") as f:
        eu_origin = {r["mql_id"]: r["origin"] for r in csv.DictReader(f, delimiter=";")}
    differing = sum(1 for r in rows(orig) if r["origin"] != eu_origin[r["mql_id"]])
    assert len(ds.conflicts) == 1 and ds.conflicts[0].startswith(f"{differing} leads ids")
    reasons = ds.rejects.filter(pl.col("action") == "rejected")["reason"]
    assert reasons.str.starts_with("duplicate of ").sum() == len(rows(orig)) - differing
