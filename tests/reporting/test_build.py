"""The report builder: values, previous period, trend, currencies, sections, determinism.

Expected values are computed here by plain Python over the rows, not through the metrics.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from datetime import datetime, timedelta

import polars as pl
import pytest
from openpyxl import load_workbook
from report_datasets import demo_dataset

from crmkpi.dataset import Dataset, StageModel
from crmkpi.errors import UsageError
from crmkpi.metrics import CATALOG, TABLE_CATALOG, evaluate_tables
from crmkpi.reporting.build import ReportOptions, build_report
from crmkpi.reporting.layout import kpi_group
from crmkpi.reporting.model import Report
from crmkpi.schema import conform


@functools.cache
def cached_report(
    options: ReportOptions = ReportOptions(), currencies: tuple[str, ...] = ("EUR",),
    saas: bool = True,
) -> Report:  # fmt: skip
    """Reports shared by tests that only read them (each build runs every catalog plan)."""
    return build_report(demo_dataset(currencies=currencies, saas=saas), options=options)


def _won(ds, since=None, until=None):  # noqa: ANN001, ANN202
    rows = ds.frames["deals"].to_dicts()
    return [
        r
        for r in rows
        if r["status"] == "won"
        and r["closed_at"] is not None
        and (since is None or r["closed_at"] >= since)
        and (until is None or r["closed_at"] < until)
    ]


def test_window_values_and_previous_window_by_hand() -> None:
    ds = demo_dataset()
    may, june = datetime(2025, 5, 1), datetime(2025, 6, 1)
    rep = build_report(ds, options=ReportOptions(since=may, until=june))
    won_may = _won(ds, may, june)
    won_april = _won(ds, datetime(2025, 4, 1), may)  # previous window: whole month before
    kpi = rep.kpis["revenue_won"]
    assert kpi.value == pytest.approx(sum(r["amount"] for r in won_may))
    assert kpi.previous == pytest.approx(sum(r["amount"] for r in won_april))
    expected_change = (kpi.value - kpi.previous) / abs(kpi.previous)
    assert kpi.change == pytest.approx(expected_change)
    assert kpi.currency == "EUR"
    assert rep.kpis["deals_won"].value == len(won_may)
    assert rep.comparison is not None
    assert rep.comparison.previous == (datetime(2025, 4, 1), may)
    assert rep.comparison.label == "vs Apr 2025"


def test_trend_has_one_value_per_month_ending_with_the_window() -> None:
    ds = demo_dataset()
    rep = build_report(ds, options=ReportOptions(until=datetime(2025, 7, 1), period="month"))
    trend = rep.kpis["deals_won"].trend
    assert [p for p, _ in trend] == [f"2024-{m:02d}" for m in range(7, 13)] + [
        f"2025-{m:02d}" for m in range(1, 7)
    ]
    by_month: dict[str, int] = {}
    for r in _won(ds):
        key = r["closed_at"].strftime("%Y-%m")
        by_month[key] = by_month.get(key, 0) + 1
    assert [v for _, v in trend] == [by_month.get(p, 0) for p, _ in trend]


def test_without_a_window_the_last_complete_period_is_compared() -> None:
    # The data ends on 2025-06-28: June is not complete, so May is compared with April.
    ds = demo_dataset()
    rep = cached_report(ReportOptions(period="month"))
    assert rep.comparison is not None
    assert rep.comparison.basis == "period"
    assert rep.comparison.current == (datetime(2025, 5, 1), datetime(2025, 6, 1))
    kpi = rep.kpis["deals_won"]
    assert kpi.latest == len(_won(ds, datetime(2025, 5, 1), datetime(2025, 6, 1)))
    assert kpi.previous == len(_won(ds, datetime(2025, 4, 1), datetime(2025, 5, 1)))
    assert kpi.value == len(_won(ds))  # the value itself covers all the data


def test_default_period_follows_the_data_span() -> None:
    # one year of data -> months
    assert cached_report().period == "month"
    short = build_report(
        demo_dataset(),
        options=ReportOptions(since=datetime(2025, 6, 1), until=datetime(2025, 6, 15)),
    )
    assert short.period == "day"


def test_mixed_currencies_are_never_summed() -> None:
    ds = demo_dataset(currencies=("EUR", "USD"))
    rep = cached_report(currencies=("EUR", "USD"))
    kpi = rep.kpis["revenue_won"]
    assert kpi.value is None
    sums: dict[str, float] = {}
    for r in _won(ds):
        sums[r["currency"]] = sums.get(r["currency"], 0.0) + r["amount"]
    assert kpi.by_currency == pytest.approx(sums)
    assert "mixed currencies" in (kpi.reason or "")
    assert "revenue_won" in rep.section("kpis").kpis  # shown, per currency


def test_every_catalog_kpi_is_computed_or_skipped_with_a_reason() -> None:
    rep = cached_report(saas=False)  # deals only
    skipped = {s["kpi"]: s["reason"] for s in rep.skipped if "kpi" in s}
    for metric_id in CATALOG:
        assert metric_id in rep.kpis
        kpi = rep.kpis[metric_id]
        assert (metric_id in skipped) == (kpi.reason is not None and not kpi.by_currency)
    leads_kpis = [m for m in CATALOG.values() if kpi_group(m.needs) == "Leads"]
    for metric in leads_kpis:
        assert skipped[metric.id]  # no leads table: each says why
    from crmkpi.metrics import TABLE_CATALOG

    tables = [s for s in rep.skipped if "table" in s]
    assert tables  # no subscriptions: MRR movements and churn reasons at least
    assert all(s["title"] == TABLE_CATALOG[s["table"]].title for s in tables)


def test_breakdown_by_owner_matches_the_rows() -> None:
    ds = demo_dataset()
    rep = cached_report(ReportOptions(by=("owner",)))
    table = rep.tables["by_owner"].frame
    expected: dict[str, int] = {}
    for r in _won(ds):
        expected[r["owner"]] = expected.get(r["owner"], 0) + 1
    got = dict(zip(table["owner"], table["deals_won"], strict=True))
    assert got == expected
    assert rep.section("breakdown").tables == ["by_owner"]


def test_sections_can_be_chosen_and_unknown_ones_are_refused() -> None:
    rep = build_report(demo_dataset(), options=ReportOptions(sections=("funnel",)))
    assert [s.id for s in rep.sections] == ["funnel"]
    with pytest.raises(UsageError, match="unknown section 'funel'"):
        build_report(demo_dataset(), options=ReportOptions(sections=("funel",)))


def test_a_bad_period_or_window_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        build_report(demo_dataset(), options=ReportOptions(period="fortnight"))
    with pytest.raises(UsageError):
        build_report(
            demo_dataset(),
            options=ReportOptions(since=datetime(2025, 2, 1), until=datetime(2025, 1, 1)),
        )


def test_empty_dataset_gives_a_report_that_says_why() -> None:
    from crmkpi.dataset import Dataset

    rep = build_report(Dataset(frames={}))
    assert all(k.value is None for k in rep.kpis.values())
    assert rep.skipped and all(s["reason"] for s in rep.skipped)
    assert all(s.skipped for s in rep.sections)


def test_same_input_same_json_apart_from_generated_at() -> None:
    first = json.loads(cached_report().to_json())
    second = json.loads(build_report(demo_dataset()).to_json())
    first.pop("generated_at")
    second.pop("generated_at")
    assert first == second


def test_deals_without_dates_give_no_trend_but_still_a_value() -> None:
    from report_datasets import frame

    from crmkpi.dataset import Dataset

    deals = frame(
        "deals",
        [{"id": "1", "status": "won", "amount": 10.0, "created_at": None, "closed_at": None}],
    )
    rep = build_report(Dataset(frames={"deals": deals}))
    assert rep.data_span == (None, None)
    assert rep.kpis["deals_total"].value == 1
    assert rep.kpis["deals_total"].trend == []


def test_a_period_cut_short_by_the_data_is_marked_partial() -> None:
    rep = cached_report(ReportOptions(period="month"))
    labels = [p for p, _ in rep.kpis["deals_won"].trend]
    # the data ends on 2025-06-28, two days before June does
    assert labels[-1] == "2025-06"
    assert rep.trend_partial is True
    assert json.loads(rep.to_json())["trend_partial"] is True
    closed = cached_report(ReportOptions(until=datetime(2025, 7, 1), period="month"))
    assert closed.trend_partial is False


def test_by_a_column_no_table_has_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no KPI can be broken down by colour"):
        build_report(demo_dataset(), options=ReportOptions(by=("colour",)))


def test_kpis_that_cannot_be_broken_down_are_named_in_the_note() -> None:
    # leads have an owner, subscriptions have none: MRR and friends are left out, and said so
    rep = cached_report(ReportOptions(by=("owner",)))
    table = rep.tables["by_owner"]
    assert "leads_created" in table.frame.columns
    assert "mrr" not in table.frame.columns
    assert "subscriptions has no owner column" in (table.note or "")


def test_breakdown_section_alone_still_breaks_down_the_key_figures() -> None:
    rep = build_report(
        demo_dataset(), options=ReportOptions(sections=("breakdown",), by=("owner",))
    )
    assert [s.id for s in rep.sections] == ["breakdown"]
    assert "deals_won" in rep.tables["by_owner"].frame.columns


def test_base_currency_gives_one_converted_value_in_that_currency() -> None:
    from crmkpi.config import Config

    ds = demo_dataset(currencies=("EUR", "USD"))
    rep = build_report(ds, Config(base_currency="EUR"))
    kpi = rep.kpis["revenue_won"]
    assert kpi.by_currency is None and kpi.currency == "EUR"
    eur = sum(r["amount"] for r in _won(ds) if r["currency"] == "EUR")
    usd = sum(r["amount"] for r in _won(ds) if r["currency"] == "USD")
    # one US dollar was worth between 0.80 and 1.00 euro through 2024-2025 (ECB)
    assert eur + 0.80 * usd < kpi.value < eur + 1.00 * usd


def test_a_plan_failing_at_collect_is_reported_and_the_rest_survive(monkeypatch) -> None:  # noqa: ANN001
    import polars as pl

    from crmkpi.metrics import CATALOG as catalog
    from crmkpi.metrics.base import Metric, needs
    from crmkpi.metrics.kinds import Kind

    def broken(ctx):  # noqa: ANN001, ANN202
        # "Deal 1" cannot be an integer: fails when collected, not when planned
        return ctx.table("deals").select(pl.col("name").cast(pl.Int64).sum().alias("value"))

    metric = Metric(id="broken_kpi", label="Broken", unit="count", direction="neutral",
                    needs=needs(("deals", ["name"])), kind=Kind.SUM,
                    formula="name as a number", compute=broken)  # fmt: skip
    monkeypatch.setitem(catalog, "broken_kpi", metric)
    rep = build_report(demo_dataset(saas=False))
    reasons = {s.get("kpi"): s["reason"] for s in rep.skipped}
    assert reasons["broken_kpi"].startswith("could not compute: InvalidOperationError")
    assert rep.kpis["broken_kpi"].value is None
    assert rep.kpis["deals_won"].value == len(_won(demo_dataset(saas=False)))


# List tables (stuck deals) are cut in the report, with the full count kept in the note.


def test_report_keeps_the_first_rows_of_a_long_list() -> None:
    limit = TABLE_CATALOG["stuck_deals"].report_rows
    assert limit is not None
    # Open deals created one a day, all still in "Proposal". With no stage history and no
    # configured limit the threshold is the 90th percentile of their ages, so about a tenth of
    # them is stuck: 12 x limit deals give about 1.2 x limit stuck ones, more than the report keeps.
    n_open = 12 * limit
    created = [datetime(2019, 1, 1) + timedelta(days=i) for i in range(n_open)]
    deals = pl.DataFrame(
        {
            "id": [f"d{i:04d}" for i in range(n_open)] + ["w"],
            "stage": ["Proposal"] * n_open + ["Won"],
            "status": ["open"] * n_open + ["won"],
            "created_at": [*created, datetime(2024, 1, 1)],
            "closed_at": [None] * n_open + [datetime(2025, 6, 1)],
        }
    )
    stages = StageModel(order=("Proposal", "Won"), won=frozenset({"Won"}), origin="config")
    ds = Dataset(frames={"deals": deals}, stages=stages)
    full = evaluate_tables(ds, ["stuck_deals"])["stuck_deals"]
    rep = build_report(ds)
    shown = rep.tables["stuck_deals"]
    assert full.height > limit  # the fixture must make a list longer than the report keeps
    assert shown.frame.height == limit
    assert shown.frame["id"].to_list() == full["id"].head(limit).to_list()
    assert f"the first {limit:,} of {full.height:,} rows" in (shown.note or "")


# Ratios change in percentage points in every format; each headline value says its window.


D = datetime
# February: 1 won of 2 closed (50%); March: 3 won of 4 closed (75%). Two deals stay open.
DEALS = {
    "id": [str(i) for i in range(1, 9)],
    "status": ["won", "lost", "won", "won", "won", "lost", "open", "open"],
    "amount": [10.0] * 8,
    "created_at": [D(2025, 1, 5)] * 8,
    "closed_at": [D(2025, 2, 3), D(2025, 2, 4), D(2025, 3, 2), D(2025, 3, 3), D(2025, 3, 4),
                  D(2025, 3, 5), None, None],
}  # fmt: skip


def report():
    frame = conform("deals", pl.DataFrame(DEALS).lazy()).collect()
    ds = Dataset(frames={"deals": frame})
    return build_report(ds, None, ReportOptions(since=D(2025, 3, 1), until=D(2025, 4, 1)))


def test_a_ratio_changes_in_points_in_json_csv_and_excel(tmp_path) -> None:
    rep = report()
    # 50% -> 75%: up 25 percentage points (a relative change would say 50%).
    doc = json.loads(rep.render("json"))
    assert doc["kpis"]["win_rate"]["change_shown"] == {"value": 25.0, "unit": "pp"}
    assert doc["kpis"]["win_rate"]["change"] == 0.5  # the relative change stays in its key
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(str(rep.render("csv"))))}
    assert (rows["win_rate"]["change"], rows["win_rate"]["change_unit"]) == ("25.0", "pp")
    # Deals won 1 -> 3: a count changes relatively, +200%.
    assert (rows["deals_won"]["change"], rows["deals_won"]["change_unit"]) == ("2.0", "share")
    path = tmp_path / "r.xlsx"
    rep.write(path)
    sheet = load_workbook(path)["Summary"]
    cells = {row[9].value: row for row in sheet.iter_rows(min_row=7) if row[9].value}
    assert cells["win_rate"][7].value == 25.0
    assert cells["win_rate"][7].number_format == '+0.0" pp";-0.0" pp";0.0" pp"'


def test_each_value_says_its_window() -> None:
    rep = report()
    # A state is read as of the window's last day; a flow over the window.
    assert rep.kpis["deals_open"].window == "as of 2025-03-31"
    assert rep.kpis["win_rate"].window == "Mar 2025"
    doc = json.loads(rep.render("json"))
    assert doc["kpis"]["deals_open"]["window"] == "as of 2025-03-31"


def test_deals_is_not_a_second_row_of_deals_created_when_every_deal_is_dated() -> None:
    # Every demo deal has a created_at: "Deals" (every row) and "Deals created" (dated rows)
    # count the same 160 deals, so the key figures show the row once.
    rep = cached_report()
    key_figures = rep.section("kpis")
    assert key_figures is not None
    assert rep.kpis["deals_total"].value == rep.kpis["deals_created"].value == 160
    assert "deals_created" in key_figures.kpis and "deals_total" not in key_figures.kpis
    assert "deals_total" in json.loads(rep.to_json())["kpis"]  # still in the JSON


def test_deals_is_shown_when_some_deals_have_no_date() -> None:
    ds = demo_dataset()
    deals = ds.frames["deals"]
    # one deal without created_at: 160 deals, 159 created
    ds.frames["deals"] = deals.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(None).otherwise(pl.col("created_at"))
        .alias("created_at")
    )  # fmt: skip
    rep = build_report(ds)
    assert (rep.kpis["deals_total"].value, rep.kpis["deals_created"].value) == (160, 159)
    key_figures = rep.section("kpis")
    assert key_figures is not None and "deals_total" in key_figures.kpis


def test_no_currency_conversion_noise_on_single_currency_data() -> None:
    rep = cached_report()
    assert rep.section("more") is None
    assert not any(s.get("table") == "currency_conversion" for s in rep.skipped)
