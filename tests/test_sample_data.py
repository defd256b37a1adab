"""The demo company's exports: reproducible, consistent across files, and reported right.

The KPI expectations here are computed with the csv module and datetime over the committed
files, a route that shares nothing with crmkpi's importers or metrics, and then compared with
what `crmkpi report sample_data/ --format json` says.
"""

from __future__ import annotations

import ast
import csv
import functools
import importlib
import json
import re
import statistics
import sys
from collections import Counter, defaultdict
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
EXPORTS = {
    "deals.csv": "deals",
    "opportunity_history.csv": "stage_history",
    "leads.csv": "leads",
    "activities.xlsx": "activities",
    "spend.xlsx": "spend",
    "subscriptions.csv": "subscriptions",
    "nps.csv": "nps",
}
HUBSPOT = "%Y-%m-%d %H:%M"
SALESFORCE = "%Y-%m-%dT%H:%M:%SZ"
EUROPEAN = "%d.%m.%Y %H:%M"
EXPORTED_AT = datetime(2026, 11, 1)
WON, LOST = "Closed Won", "Closed Lost"
OPEN_STAGES = [
    "Appointment Scheduled",
    "Qualified To Buy",
    "Presentation Scheduled",
    "Decision Maker Bought-In",
    "Contract Sent",
]


@functools.cache
def read_csv(name: str, delimiter: str = ",") -> list[dict[str, str]]:
    with open(SAMPLE / name, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


@functools.cache
def read_xlsx(name: str, header_row: int) -> list[dict[str, Any]]:
    sheet = load_workbook(SAMPLE / name, read_only=True).active
    rows = [r for r in sheet.iter_rows(min_row=header_row, values_only=True)]
    header = rows[0]
    return [dict(zip(header, r, strict=True)) for r in rows[1:] if any(v is not None for v in r)]


def at(text: str, fmt: str = HUBSPOT) -> datetime:
    return datetime.strptime(text, fmt)


def status(stage: str) -> str:
    return "won" if stage == WON else "lost" if stage == LOST else "open"


@pytest.fixture(scope="module")
def deals() -> list[dict[str, str]]:
    return read_csv("deals.csv")


@pytest.fixture(scope="module")
def history() -> dict[str, list[tuple[str, datetime]]]:
    by_deal: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
    for row in read_csv("opportunity_history.csv"):
        by_deal[row["OpportunityId"]].append((row["StageName"], at(row["CreatedDate"], SALESFORCE)))
    return by_deal


@pytest.fixture(scope="module")
def leads() -> list[dict[str, str]]:
    return read_csv("leads.csv")


@pytest.fixture(scope="module")
def subscriptions() -> list[dict[str, str]]:
    return read_csv("subscriptions.csv")


@pytest.fixture(scope="module")
def nps() -> list[dict[str, str]]:
    return read_csv("nps.csv", delimiter=";")


@pytest.fixture(scope="module")
def spend() -> list[dict[str, Any]]:
    return read_xlsx("spend.xlsx", header_row=3)


@pytest.fixture(scope="module")
def activities() -> list[dict[str, Any]]:
    return read_xlsx("activities.xlsx", header_row=1)


# Reproducible and small -------------------------------------------------------------------


def test_generator_reproduces_the_committed_files_byte_for_byte(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(SAMPLE))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    for name in ("generate", "northwind", "northwind_accounts"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    generator = importlib.import_module("generate")
    sizes = generator.generate(tmp_path)
    assert sorted(sizes) == sorted(EXPORTS)
    for name in EXPORTS:
        assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), name


def test_generator_uses_no_crmkpi_code():
    for script in ("generate.py", "northwind.py", "northwind_accounts.py"):
        tree = ast.parse((SAMPLE / script).read_text(encoding="utf-8"))
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}  # fmt: skip
        imported |= {node.module or "" for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom)}  # fmt: skip
        assert not any(name.split(".")[0] == "crmkpi" for name in imported), script


def test_readme_row_counts_match_the_files():
    table = re.findall(
        r"^\| `([^`]+)` \| [^|]+ \| ([\d,]+) \|", (SAMPLE / "README.md").read_text(), re.M
    )
    assert {name for name, _ in table} == set(EXPORTS)
    for name, rows in table:
        assert int(rows.replace(",", "")) == data_rows(name), name


def test_committed_sample_folder_stays_under_two_megabytes():
    files = [p for p in SAMPLE.iterdir() if p.is_file() and not p.name.startswith(".")]
    assert sum(p.stat().st_size for p in files) < 2_000_000


# Consistent across files ------------------------------------------------------------------


def test_deals_file_has_the_promised_shape(deals):
    assert 1_800 <= len(deals) <= 2_200
    assert len({d["Record ID"] for d in deals}) == len(deals)
    assert {d["Currency"] for d in deals} == {"EUR"}
    created = [at(d["Create Date"]) for d in deals]
    assert min(created) >= datetime(2025, 5, 1) and max(created) < EXPORTED_AT
    owners = {d["Deal owner"]: d["HubSpot Team"] for d in deals}
    assert 6 <= len(owners) <= 8 and set(owners.values()) == {"Enterprise", "Mid-Market"}
    for d in deals:
        if d["Deal Stage"] in (WON, LOST):
            assert at(d["Close Date"]) > at(d["Create Date"]), d["Record ID"]
        if d["Deal Stage"] == WON:
            assert float(d["Amount"]) > 0
        assert (d["Closed Lost Reason"] != "") <= (d["Deal Stage"] == LOST)


def test_stage_history_walks_each_deal_from_creation_to_its_current_stage(deals, history):
    assert set(history) == {d["Record ID"] for d in deals}
    for d in deals:
        path = history[d["Record ID"]]
        times = [t for _, t in path]
        assert times == sorted(times), d["Record ID"]
        assert times[0] == at(d["Create Date"])
        assert path[-1][0] == d["Deal Stage"]
        assert all(t < EXPORTED_AT for t in times)
        if d["Deal Stage"] in (WON, LOST):
            assert times[-1] == at(d["Close Date"])
            assert [s for s, _ in path].count(d["Deal Stage"]) == 1


def test_stage_history_has_skips_and_a_few_backward_moves(history):
    rank = {stage: i for i, stage in enumerate(OPEN_STAGES)}
    skipped = backwards = 0
    for path in history.values():
        ranks = [rank[s] for s, _ in path if s in rank]
        steps = list(zip(ranks, ranks[1:], strict=False))
        skipped += ranks[0] > 0 or any(b - a > 1 for a, b in steps)
        backwards += any(b < a for a, b in steps)
    assert skipped > 0.05 * len(history)
    assert 0 < backwards < 0.1 * len(history)


def test_ids_line_up_across_deals_leads_billing_nps_and_activities(
    deals, leads, subscriptions, nps, activities
):
    customers = {s["Customer Id"] for s in subscriptions}
    won_new = {d["Associated Company IDs"] for d in deals if d["Deal Stage"] == WON}
    won_new -= {d["Associated Company IDs"] for d in deals if d["Pipeline"] == "Expansion"}
    assert won_new and won_new <= customers
    expansion = {d["Associated Company IDs"] for d in deals if d["Pipeline"] == "Expansion"}
    assert expansion <= customers
    assert {r["Customer ID"] for r in nps} <= customers
    converted = {lead["Account Id"] for lead in leads if lead["Converted"] == "Yes"}
    assert "" not in converted and converted <= {d["Associated Company IDs"] for d in deals}
    deal_ids = {int(d["Record ID"]) for d in deals}
    lead_ids = {int(lead["Lead Id"]) for lead in leads}
    assert {a["Deal ID"] for a in activities if a["Deal ID"]} <= deal_ids
    assert {a["Lead ID"] for a in activities if a["Lead ID"]} <= lead_ids


def test_sources_and_owners_share_one_vocabulary(deals, leads, spend, activities):
    lead_sources = {lead["Lead Source"] for lead in leads}
    assert lead_sources <= {d["Original Source"] for d in deals}
    assert {r["Channel"] for r in spend if r["Category"] == "marketing"} == lead_sources
    owners = {d["Deal owner"] for d in deals}
    assert {lead["Lead Owner"] for lead in leads} == owners
    assert {a["Assigned to user"] for a in activities} == owners


def test_leads_timestamps_follow_each_other(leads):
    assert 5_000 <= len(leads) <= 6_500
    blank = 0
    for lead in leads:
        created = at(lead["Created Time"])
        if not lead["First Contacted"]:
            blank += 1
            assert lead["Converted"] == "No"
            continue
        first = at(lead["First Contacted"])
        assert created <= first < EXPORTED_AT
        assert (
            (lead["Converted"] == "Yes") == bool(lead["Converted Date"]) == bool(lead["Account Id"])
        )
        if lead["Converted Date"]:
            assert at(lead["Converted Date"]) >= first
    assert 0 < blank < 0.1 * len(leads)


def test_subscription_rows_chain_per_customer(subscriptions):
    by_customer: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in subscriptions:
        by_customer[row["Customer Id"]].append(row)
    kinds = Counter(row["Change Type"] for row in subscriptions)
    assert kinds["upgrade"] > 0 and kinds["downgrade"] > 0
    churned = 0
    for rows in by_customer.values():
        for earlier, later in zip(rows, rows[1:], strict=False):
            assert earlier["Ended At"] == later["Started At"]
            assert earlier["Status"] == "changed" and earlier["MRR"] != later["MRR"]
        last = rows[-1]
        assert (last["Status"] == "active") == (last["Ended At"] == "")
        if last["Status"] == "cancelled":
            churned += 1
            assert last["Cancel Reason"]
            assert last["Started At"] < last["Ended At"]
    assert churned > 0.05 * len(by_customer)


def test_nps_file_speaks_a_european_dialect(nps):
    raw = (SAMPLE / "nps.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b";" in raw.splitlines()[0]
    assert 200 <= len(nps) <= 600
    days = {at(r["Submitted At"], EUROPEAN).day for r in nps}
    assert max(days) > 12  # day-first is decidable from the data itself
    scores = [int(r["NPS Score"]) for r in nps if r["NPS Score"]]
    assert set(scores) <= set(range(11)) and len(scores) < len(nps)
    durations = [float(r["Duration (min)"].replace(",", ".")) for r in nps]
    assert any("," in r["Duration (min)"] for r in nps) and min(durations) > 0
    assert any("\n" in r["Comment"] for r in nps)


# The texture the demo is meant to show -----------------------------------------------------


def test_reps_differ_clearly_in_win_rate_and_deal_size(deals):
    won, closed, revenue = Counter(), Counter(), Counter()
    for d in deals:
        if d["Deal Stage"] in (WON, LOST):
            closed[d["Deal owner"]] += 1
        if d["Deal Stage"] == WON:
            won[d["Deal owner"]] += 1
            revenue[d["Deal owner"]] += float(d["Amount"])
    rates = {o: won[o] / closed[o] for o in closed}
    assert max(rates.values()) - min(rates.values()) > 0.15
    sizes = {o: revenue[o] / won[o] for o in won}
    assert max(sizes.values()) > 2.5 * min(sizes.values())


def test_social_media_spends_most_and_converts_least(leads, spend):
    by_channel = Counter()
    for row in spend:
        if row["Category"] == "marketing":
            by_channel[row["Channel"]] += row["Amount"]
    leads_by, converted_by = Counter(), Counter()
    for lead in leads:
        leads_by[lead["Lead Source"]] += 1
        converted_by[lead["Lead Source"]] += lead["Converted"] == "Yes"
    conversion = {s: converted_by[s] / leads_by[s] for s in leads_by}
    assert by_channel.most_common(1)[0][0] == "Social Media"
    assert min(conversion, key=conversion.get) == "Social Media"


def test_deals_stall_late_and_some_open_deals_are_overdue(deals, history):
    days_in: dict[str, list[float]] = defaultdict(list)
    for path in history.values():
        for (stage, entered), (_, left) in zip(path, path[1:], strict=False):
            days_in[stage].append((left - entered).total_seconds() / 86_400)
    medians = {s: statistics.median(v) for s, v in days_in.items()}
    slowest = max(medians, key=medians.get)
    assert slowest in ("Decision Maker Bought-In", "Contract Sent")
    open_deals = [d for d in deals if status(d["Deal Stage"]) == "open"]
    overdue = [d for d in open_deals if at(d["Close Date"]) < EXPORTED_AT]
    assert 0.05 < len(overdue) / len(open_deals) < 0.4
    stuck = [d for d in overdue if d["Deal Stage"] in OPEN_STAGES[3:]]
    assert max((EXPORTED_AT - at(d["Create Date"])).days for d in stuck) > 120


def test_august_and_december_are_quiet_and_quarter_ends_busy(deals):
    created = Counter(d["Create Date"][5:7] for d in deals)
    assert created["08"] < min(created["07"], created["09"])
    closes = Counter(
        at(d["Close Date"]).strftime("%m-%d") >= at(d["Close Date"]).strftime("%m-") + "15"
        for d in deals
        if d["Deal Stage"] == WON and d["Close Date"][5:7] in ("03", "06", "09")
    )
    assert closes[True] > closes[False]  # second half of a quarter's last month outsells the first


# Independent headline KPIs versus `crmkpi report` -------------------------------------------


def expected_headline(deals: list[dict[str, str]]) -> dict[str, float]:
    won = [d for d in deals if d["Deal Stage"] == WON]
    lost = [d for d in deals if d["Deal Stage"] == LOST]
    amounts = [float(d["Amount"]) for d in won]
    cycles = [(at(d["Close Date"]) - at(d["Create Date"])).total_seconds() / 86_400 for d in won]
    return {
        "deals_total": len(deals),
        "deals_open": len(deals) - len(won) - len(lost),
        "deals_won": len(won),
        "deals_lost": len(lost),
        "win_rate": len(won) / (len(won) + len(lost)),
        "avg_deal_size": sum(amounts) / len(amounts),
        "revenue_won": sum(amounts),
        "sales_cycle_days_median": statistics.median(cycles),
    }


def expected_owners(deals: list[dict[str, str]]) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for owner in sorted({d["Deal owner"] for d in deals}):
        mine = [d for d in deals if d["Deal owner"] == owner]
        won = [d for d in mine if d["Deal Stage"] == WON]
        lost = [d for d in mine if d["Deal Stage"] == LOST]
        out[owner] = {
            "deals_won": len(won),
            "win_rate": len(won) / (len(won) + len(lost)) if won or lost else None,
            "revenue_won": sum(float(d["Amount"]) for d in won),
        }
    return out


def test_plain_python_headline_is_plausible(deals):
    # A guard on the expectations themselves: the demo is a team that wins a quarter to a third.
    kpis = expected_headline(deals)
    assert 0.2 < kpis["win_rate"] < 0.4
    assert 30 < kpis["sales_cycle_days_median"] < 90
    assert kpis["deals_open"] + kpis["deals_won"] + kpis["deals_lost"] == kpis["deals_total"]


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    pytest.importorskip("crmkpi.io.load")
    from typer.testing import CliRunner

    from crmkpi.cli import app

    result = CliRunner().invoke(app, ["report", str(SAMPLE), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_report_headline_matches_plain_python(report, deals):
    for kpi, value in expected_headline(deals).items():
        assert report["kpis"][kpi]["value"] == pytest.approx(value, rel=1e-9), kpi


def owner_rows(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    rows = report["tables"]["owners"]
    assert len({row["owner"] for row in rows}) == len(rows)  # one currency: one row per owner
    return {row["owner"]: row for row in rows}


def test_report_owner_table_matches_plain_python(report, deals):
    rows = owner_rows(report)
    expected = expected_owners(deals)
    assert set(rows) == set(expected)
    for owner, values in expected.items():
        for column in ("win_rate", "revenue_won"):
            assert rows[owner][column] == pytest.approx(values[column], rel=1e-9), (owner, column)


def test_report_owner_table_counts_deals_won(report, deals):
    rows = owner_rows(report)
    for owner, values in expected_owners(deals).items():
        assert rows[owner]["deals_won"] == values["deals_won"], owner


def data_rows(name: str) -> int:
    """Data rows as counted without crmkpi: csv records after the header, or non-empty cells."""
    if name.endswith(".xlsx"):
        return len(read_xlsx(name, header_row=3 if name == "spend.xlsx" else 1))
    return len(read_csv(name, delimiter=";" if name == "nps.csv" else ","))


def test_report_accounts_for_every_input_row(report):
    inputs = {Path(i["path"]).name: i for i in report["inputs"]}
    assert set(inputs) == set(EXPORTS)
    for name, table in EXPORTS.items():
        account = inputs[name]
        assert account["table"] == table, name
        assert account["rows_read"] == data_rows(name), name
        assert account["rows_read"] == account["rows_loaded"] + account["rows_rejected"], name


def expected_acquisition(
    deals: list[dict[str, str]],
    subscriptions: list[dict[str, str]],
    spend: list[dict[str, Any]],
    leads: list[dict[str, str]],
) -> dict[str, float]:
    """New customers: companies whose first won deal is theirs (not billed on an earlier day:
    the 150 customers signed before the CRM export starts buy upsells, they are not new).
    Cost per lead and CAC over the spend sheet's marketing rows; fully loaded over all rows."""
    first_win: dict[str, datetime] = {}
    for d in deals:
        if d["Deal Stage"] == WON:
            company, closed = d["Associated Company IDs"], at(d["Close Date"])
            first_win[company] = min(first_win.get(company, closed), closed)
    billed: dict[str, datetime] = {}
    for s in subscriptions:
        started = datetime.strptime(s["Started At"], "%Y-%m-%d")
        billed[s["Customer Id"]] = min(billed.get(s["Customer Id"], started), started)
    new = [c for c, won in first_win.items() if c not in billed or billed[c] >= won.replace(
        hour=0, minute=0)]  # fmt: skip
    marketing = sum(r["Amount"] for r in spend if r["Category"] == "marketing")
    total = sum(r["Amount"] for r in spend)
    return {
        "new_customers": len(new),
        "cost_per_lead": marketing / len(leads),
        "cac": marketing / len(new),
        "cac_fully_loaded": total / len(new),
    }


def test_report_acquisition_matches_plain_python(report, deals, subscriptions, spend, leads):
    expected = expected_acquisition(deals, subscriptions, spend, leads)
    # The demo's story: 490 deals won, of which 126 upsells, by 364 new customers.
    assert expected["new_customers"] == 364
    for kpi, value in expected.items():
        assert report["kpis"][kpi]["value"] == pytest.approx(value, rel=1e-9), kpi


def test_report_counts_overdue_deals_at_the_export_date(report, deals):
    open_deals = [d for d in deals if status(d["Deal Stage"]) == "open"]
    overdue = [d for d in open_deals if at(d["Close Date"]) < EXPORTED_AT]
    assert len(overdue) == 41  # against the machine's clock in December 2026 it read 158
    said = [a["message"] for a in report["alerts"] if "expected close date" in a["message"]]
    assert said == [f"{SAMPLE / 'deals.csv'}: 41 open deals whose expected close date has passed"]


def _years_later(day: datetime, years: int) -> datetime:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


def expected_renewal_rate(subscriptions: list[dict[str, str]], now: datetime) -> float:
    """Annual contracts (Term 12): rows chained by plan changes (one ends the day the next
    starts, no cancel reason); each anniversary reached, or whose year a cancellation cut
    short, is up for renewal; renewed when the contract runs on past it."""
    by_customer: dict[str, list[dict[str, str]]] = defaultdict(list)
    for s in subscriptions:
        assert s["Term (months)"] == "12"
        by_customer[s["Customer Id"]].append(s)
    up = renewed = 0
    for rows in by_customer.values():
        rows.sort(key=lambda r: r["Started At"])
        contracts: list[list[dict[str, str]]] = []
        for row in rows:
            prev = contracts[-1][-1] if contracts else None
            if prev and prev["Ended At"] == row["Started At"] and not prev["Cancel Reason"]:
                contracts[-1].append(row)
            else:
                contracts.append([row])
        for chain in contracts:
            start = datetime.strptime(chain[0]["Started At"], "%Y-%m-%d")
            last = chain[-1]["Ended At"]
            end = datetime.strptime(last, "%Y-%m-%d") if last else None
            k = 1
            while (due := _years_later(start, k)) < now:
                if end is not None and _years_later(start, k - 1) >= end:
                    break
                up += 1
                renewed += end is None or end > due
                k += 1
    return renewed / up


def test_report_renewal_rate_matches_plain_python(report, subscriptions):
    as_of = datetime.fromisoformat(report["as_of"])
    expected = expected_renewal_rate(subscriptions, as_of)
    assert 0.5 < expected < 1
    assert report["kpis"]["renewal_rate"]["value"] == pytest.approx(expected, rel=1e-9)


def quantile(values: list[float], q: float) -> float:
    """Linear interpolation between the two ranks around position q x (n - 1)."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def expected_risk(deals: list[dict[str, str]], now: datetime) -> dict[str, set[str]]:
    """Open deals flagged for amount (Tukey's fences over won and open amounts of the deal's
    pipeline), age (over the 90th percentile of won cycles) and a passed close date."""
    fences = {}
    for pipeline in {d["Pipeline"] for d in deals}:
        amounts = [float(d["Amount"]) for d in deals if d["Pipeline"] == pipeline
                   and d["Deal Stage"] != LOST and d["Amount"]]  # fmt: skip
        q1, q3 = quantile(amounts, 0.25), quantile(amounts, 0.75)
        fences[pipeline] = (q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1))
    won = [d for d in deals if d["Deal Stage"] == WON]
    cycles = [(at(d["Close Date"]) - at(d["Create Date"])).total_seconds() / 86_400 for d in won]
    age_limit = quantile(cycles, 0.9)
    flagged: dict[str, set[str]] = defaultdict(set)
    for d in deals:
        if d["Deal Stage"] in (WON, LOST):
            continue
        low, high = fences[d["Pipeline"]]
        if d["Amount"] and not low <= float(d["Amount"]) <= high:
            flagged[d["Record ID"]].add("amount")
        if (now - at(d["Create Date"])).total_seconds() / 86_400 > age_limit:
            flagged[d["Record ID"]].add("age")
        if at(d["Close Date"]).date() < now.date():
            flagged[d["Record ID"]].add("close date")
    return flagged


def test_report_deal_risk_matches_plain_python(report, deals):
    now = datetime.fromisoformat(report["as_of"])
    rows = report["tables"]["deal_risk"]
    kinds = ("amount", "age", "close date")
    got = {row["id"]: {k for k in kinds for r in row["reasons"].split("; ") if r.startswith(k)}
           for row in rows}  # fmt: skip
    got = {deal: found for deal, found in got.items() if found}
    expected = expected_risk(deals, now)
    assert got == expected
    # The demo has deals at risk for each of these reasons: 15 by amount, 41 past their close.
    assert sum("amount" in f for f in expected.values()) == 15
    assert sum("close date" in f for f in expected.values()) == 41
    amounts = [row["amount"] for row in rows]
    assert amounts == sorted(amounts, reverse=True)


def test_report_lead_chain_and_never_contacted_match_plain_python(report, leads, deals):
    never = [lead for lead in leads if not lead["First Contacted"]]
    assert len(never) == 315
    assert report["kpis"]["leads_never_contacted"]["value"] == 315
    listed = {row["id"] for row in report["tables"]["leads_never_contacted"]}
    assert listed == {lead["Lead Id"] for lead in never}
    # A converted lead's deal: its company's first deal created at or after the lead.
    by_company: dict[str, list[dict[str, str]]] = defaultdict(list)
    for d in sorted(deals, key=lambda d: at(d["Create Date"])):
        by_company[d["Associated Company IDs"]].append(d)
    outcomes: Counter[str] = Counter()
    for lead in leads:
        if lead["Converted"] != "Yes" or not lead["Account Id"]:
            continue
        created = at(lead["Created Time"])
        mine = [d for d in by_company[lead["Account Id"]] if at(d["Create Date"]) >= created]
        if mine:
            outcomes[status(mine[0]["Deal Stage"])] += 1
    every = next(row for row in report["tables"]["lead_chain"] if row["breakdown"] == "all")
    assert every["leads"] == len(leads)
    assert every["contacted"] == len(leads) - 315
    assert every["deals"] == sum(outcomes.values())
    assert (every["deals_won"], every["deals_lost"], every["deals_open"]) == (
        outcomes["won"], outcomes["lost"], outcomes["open"],
    )  # fmt: skip


def expected_stalled(
    deals: list[dict[str, str]],
    history: dict[str, list[tuple[str, datetime]]],
    activities: list[dict[str, Any]],
    now: datetime,
) -> dict[str, set[str]]:
    """Open deals in their stage longer than the 90th percentile of ended stays in it (20 at
    least), and deals without an activity for longer than the 90th percentile of the gaps
    between a deal's activities up to now (counted from creation when there is none)."""
    closed = {d["Record ID"]: at(d["Close Date"]) for d in deals if d["Deal Stage"] in (WON, LOST)}
    ended: dict[str, list[float]] = defaultdict(list)
    for deal, entries in history.items():
        entries = sorted(entries, key=lambda e: e[1])
        ends = [e[1] for e in entries[1:]] + [closed.get(deal)]
        for (stage, entered), end in zip(entries, ends, strict=True):
            if end is not None:
                ended[stage].append((end - entered).total_seconds() / 86_400)
    stage_limit = {s: quantile(v, 0.9) for s, v in ended.items() if len(v) >= 20}
    touches: dict[str, list[datetime]] = defaultdict(list)
    for a in activities:
        if a["Deal ID"] is not None and a["Due date"] <= now:
            touches[str(int(a["Deal ID"]))].append(a["Due date"])
    gaps = [(b - a).total_seconds() / 86_400 for t in touches.values()
            for a, b in pairwise(sorted(t))]  # fmt: skip
    silence_limit = quantile(gaps, 0.9)
    flagged: dict[str, set[str]] = defaultdict(set)
    for d in deals:
        if d["Deal Stage"] in (WON, LOST):
            continue
        deal = d["Record ID"]
        stage, entered = max(history[deal], key=lambda e: e[1])
        in_stage = (now - entered).total_seconds() / 86_400
        if stage == d["Deal Stage"] and in_stage > stage_limit.get(stage, float("inf")):
            flagged[deal].add("stage")
        last = max(touches[deal], default=at(d["Create Date"]))
        if (now - last).total_seconds() / 86_400 > silence_limit:
            flagged[deal].add("no activity")
    return flagged


def test_report_deal_risk_stage_and_silence_match_plain_python(report, deals, history, activities):
    now = datetime.fromisoformat(report["as_of"])
    stages = tuple(OPEN_STAGES)
    got: dict[str, set[str]] = defaultdict(set)
    for row in report["tables"]["deal_risk"]:
        for reason in row["reasons"].split("; "):
            if reason.startswith(stages):
                got[row["id"]].add("stage")
            if reason.startswith("no activity"):
                got[row["id"]].add("no activity")
    expected = expected_stalled(deals, history, activities, now)
    assert got == expected
    assert sum("stage" in f for f in expected.values()) > 0
    assert sum("no activity" in f for f in expected.values()) > 0
