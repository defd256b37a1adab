"""Real public exports read as what they are, checked against plain csv-module Python over the
same files (see SOURCES.md in $CRMKPI_REALDATA): rows without dates, snapshots, constants and
links. Expected values are computed here from the files, never copied from crmkpi."""

from __future__ import annotations

import csv
import os
from collections import Counter, defaultdict
from pathlib import Path

import pytest

import crmkpi
from crmkpi.config import load_config

ROOT = os.environ.get("CRMKPI_REALDATA")
pytestmark = pytest.mark.skipif(not ROOT, reason="CRMKPI_REALDATA not set")


def data(rel: str) -> Path:
    return Path(ROOT or ".") / rel


def rows(rel: str, encoding: str = "utf-8", delimiter: str = ",") -> list[dict[str, str]]:
    with data(rel).open(encoding=encoding, newline="") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def test_maven_crm_open_deals_include_those_without_an_engage_date() -> None:
    pipeline = rows("maven_crm/sales_pipeline.csv")
    stages = Counter(r["deal_stage"] for r in pipeline)
    expected = {
        "deals_total": len(pipeline),
        "deals_open": stages["Engaging"] + stages["Prospecting"],  # 1589 + 500
        "deals_won": stages["Won"],
        "deals_lost": stages["Lost"],
        "revenue_won": sum(float(r["close_value"]) for r in pipeline if r["deal_stage"] == "Won"),
    }
    ds = crmkpi.load([data("maven_crm/sales_pipeline.csv")])
    got = crmkpi.metric(ds, list(expected)).row(0, named=True)
    assert got == expected
    assert expected["deals_open"] == 2089  # SOURCES.md, not 1589
    # deals created by month can place only the dated deals
    dated = sum(1 for r in pipeline if r["engage_date"])
    by_month = crmkpi.metric(ds, "deals_created", period="month")
    assert by_month["deals_created"].sum() == dated == len(pipeline) - 500
    # and the report says which deals were left out of that, and why
    from crmkpi.io.quality import quality_facts

    undated_open = sum(1 for r in pipeline if not r["engage_date"] and not r["close_date"])
    facts = quality_facts(ds).filter(fact="open_no_created_at")
    assert facts["count"].sum() == undated_open == 500


def test_x_education_leads_give_conversion_and_sources_without_dates() -> None:
    leads = rows("x_education_leads/Leads.csv")
    converted = sum(r["Converted"] == "1" for r in leads)
    ds = crmkpi.load([data("x_education_leads/Leads.csv")])
    got = crmkpi.metric(ds, ["leads_created", "lead_conversion_rate"]).row(0)
    assert got == (len(leads), pytest.approx(converted / len(leads)))
    per_source: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in leads:
        counts = per_source[r["Lead Source"] or "(none)"]
        counts[0] += 1
        counts[1] += r["Converted"] == "1"
    sources = crmkpi.table(ds, "sources")
    table = {s: (n, rate) for s, n, rate in sources.select("source", "leads", "conversion_rate")
             .iter_rows()}  # fmt: skip
    assert table == {s: (n, pytest.approx(c / n)) for s, (n, c) in per_source.items()}


def _snapshot_expected(table: list[dict[str, str]], charge: str, churned) -> dict[str, float]:
    active = [float(r[charge]) for r in table if not churned(r)]
    lost = [float(r[charge]) for r in table if churned(r)]
    return {
        "mrr": sum(active),
        "churned_mrr": sum(lost),
        "customer_churn_rate": len(lost) / len(table),
        "arpa": sum(active) / len(active),
    }


@pytest.mark.parametrize(
    ("rel", "charge", "churned"),
    [
        ("ibm_telco_churn/Telco-Customer-Churn.csv", "MonthlyCharges",
         lambda r: r["Churn"] == "Yes"),
        ("maven_telecom_churn/telecom_customer_churn.csv", "Monthly Charge",
         lambda r: r["Customer Status"] == "Churned"),
    ],
)  # fmt: skip
def test_churn_snapshots_give_churn_rate_and_mrr_as_of_the_export(rel, charge, churned) -> None:
    expected = _snapshot_expected(rows(rel), charge, churned)
    ds = crmkpi.load([data(rel)])
    got = crmkpi.metric(ds, list(expected)).row(0, named=True)
    assert got == {k: pytest.approx(v) for k, v in expected.items()}
    assert got["customer_churn_rate"] == pytest.approx(1869 / 7043)  # SOURCES.md: 26.5%


@pytest.mark.parametrize(
    ("folder", "closed_name", "leads_name", "encoding"),
    [
        ("olist_funnel", "olist_closed_deals_dataset.csv",
         "olist_marketing_qualified_leads_dataset.csv", "utf-8"),
        # the European re-export: BOM, semicolons, dotted dates, prettified origins
        ("olist_funnel_eu_reexport", "olist_marketing_closed_deals_dataset.csv",
         "olist_marketing_qualified_leads_dataset.csv", "utf-8-sig"),
    ],
)  # fmt: skip
def test_olist_lead_to_won_with_the_smallest_config(
    tmp_path: Path, folder: str, closed_name: str, leads_name: str, encoding: str
) -> None:
    closed = data(f"{folder}/{closed_name}")
    toml = tmp_path / "crmkpi.toml"
    toml.write_text(
        f'[sources.closed]\npath = "{closed}"\ntable = "deals"\nvalues = {{ status = "won" }}\n'
        'columns = { id = "mql_id" }\nlinks = { lead_id = "mql_id" }\n',
        encoding="utf-8",
    )
    ds = crmkpi.load([data(folder)], config=load_config(toml))
    delimiter = ";" if folder.endswith("eu_reexport") else ","
    leads = rows(f"{folder}/{leads_name}", encoding, delimiter)
    won_ids = {r["mql_id"] for r in rows(f"{folder}/{closed_name}", encoding, delimiter)}
    won_leads = [r for r in leads if r["mql_id"] in won_ids]
    assert crmkpi.metric(ds, "lead_conversion_rate").item() == pytest.approx(
        len(won_leads) / len(leads)
    )
    assert crmkpi.metric(ds, "deals_won").item() == len(won_ids) == 842
    # each deal takes its lead's origin: won deals per source, by plain Python
    origin = {r["mql_id"]: r["origin"] or "(none)" for r in leads}
    expected = Counter(origin[i] for i in won_ids)
    sources = crmkpi.table(ds, "sources")
    got = {s: n for s, n in sources.select("source", "deals_won").iter_rows() if n}
    assert got == dict(expected)
