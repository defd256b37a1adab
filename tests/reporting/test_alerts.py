"""Each alert kind on small hand-built datasets: targets, per-owner targets, change, quality."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

import crmkpi
from crmkpi.config import AlertSettings, load_config
from crmkpi.dataset import Dataset, InputSummary
from crmkpi.io.quality import quality_facts
from crmkpi.metrics.base import Grain
from crmkpi.reporting.alerts import (
    change_alerts,
    empty_periods,
    main_reasons,
    quality_alerts,
)
from crmkpi.reporting.build import ReportOptions, build_report
from crmkpi.reporting.model import KpiValue
from crmkpi.schema import conform

D = datetime

# Ana: 1 won, 1 lost; Bo: 1 won, 2 lost, 1 open; Cy: 1 open only.
DEALS = {
    "id": ["1", "2", "3", "4", "5", "6", "7"],
    "owner": ["Ana", "Ana", "Bo", "Bo", "Bo", "Bo", "Cy"],
    "stage": ["Won", "Lost", "Won", "Lost", "Lost", "Proposal", "New"],
    "status": ["won", "lost", "won", "lost", "lost", "open", "open"],
    "amount": [100.0, 50.0, 200.0, 10.0, 20.0, 80.0, 30.0],
    "created_at": [D(2025, 1, 5), D(2025, 1, 10), D(2025, 3, 2), D(2025, 3, 5),
                   D(2025, 3, 9), D(2025, 3, 12), D(2025, 3, 20)],
    "closed_at": [D(2025, 3, 1), D(2025, 3, 10), D(2025, 3, 20), D(2025, 3, 22),
                  D(2025, 3, 25), None, None],
}  # fmt: skip


def dataset(config_path: Path | None = None, inputs: list[InputSummary] | None = None) -> Dataset:
    frame = conform("deals", pl.DataFrame(DEALS).lazy()).collect()
    ds = Dataset(frames={"deals": frame}, inputs=inputs or [])
    ds.config = load_config(config_path)
    return ds


def report_for(tmp_path: Path, toml: str, **options):
    path = tmp_path / "crmkpi.toml"
    path.write_text(toml, encoding="utf-8")
    ds = dataset(path)
    return build_report(ds, ds.config, ReportOptions(**options))


def test_team_targets_mark_status_and_alert(tmp_path):
    # win rate: 2 won / (2 won + 3 lost) = 0.4; deals won = 2; avg won size = (100+200)/2 = 150
    rep = report_for(
        tmp_path,
        """
[alerts]
change_threshold = false
no_data_period = false
[targets]
win_rate = ">= 0.5"
deals_won = { min = 1, warn = 3 }
avg_deal_size = "<= 200"
""",
    )
    assert rep.kpis["win_rate"].value == pytest.approx(0.4)
    assert (rep.kpis["win_rate"].status, rep.kpis["win_rate"].target) == ("bad", ">= 50.0%")
    assert rep.kpis["deals_won"].status == "warn"
    assert rep.kpis["avg_deal_size"].status == "ok"
    by_kpi = {a.kpi: a for a in rep.alerts}
    assert set(by_kpi) == {"win_rate", "deals_won"}
    assert by_kpi["win_rate"].severity == "bad"
    assert by_kpi["win_rate"].message == "Win rate 40.0% is below target >= 50.0%"
    assert by_kpi["deals_won"].severity == "warn"
    assert "below warn level 3" in by_kpi["deals_won"].message


def test_per_owner_targets_alert_per_owner(tmp_path):
    # Won per owner: Ana 1, Bo 1, Cy 0 (Cy has deals but none won: 0, not "no value").
    # Named owner Dee has a target but no rows. Ana's own target asks for 1 only.
    rep = report_for(
        tmp_path,
        """
[alerts]
change_threshold = false
no_data_period = false
[targets.by_owner]
deals_won = ">= 2"
[targets.by_owner.Ana]
deals_won = ">= 1"
[targets.by_owner.Dee]
deals_won = ">= 1"
""",
    )
    owner_alerts = {a.owner: a for a in rep.alerts if a.kind == "target"}
    assert set(owner_alerts) == {"Bo", "Cy"}
    assert owner_alerts["Cy"].message == "Cy: Deals won 0 is below target >= 2"
    assert owner_alerts["Bo"].severity == "bad"
    quality = [a for a in rep.alerts if a.kind == "quality"]
    assert [a.owner for a in quality] == ["Dee"]


def test_per_owner_targets_respect_the_window(tmp_path):
    # Since 2025-03-15: Ana's deals are dated before (created 01-05/01-10, closed 03-01/03-10),
    # so she is not active; Bo closed deals 4 and 5 (lost) and 3 (won 03-20) -> 1 won;
    # Cy created deal 7 on 03-20 -> active with 0 won.
    rep = report_for(
        tmp_path,
        "[alerts]\nchange_threshold = false\nno_data_period = false\n"
        '[targets.by_owner]\ndeals_won = ">= 1"\n',
        since=D(2025, 3, 15),
        until=D(2025, 4, 1),
    )
    assert [(a.owner, a.message) for a in rep.alerts] == [
        ("Cy", "Cy: Deals won 0 is below target >= 1")
    ]


def test_target_on_a_kpi_the_data_cannot_give(tmp_path):
    path = tmp_path / "crmkpi.toml"
    path.write_text(
        "[alerts]\nno_data_period = false\nchange_threshold = false\n"
        '[targets]\navg_deal_size = ">= 100"\n',
        encoding="utf-8",
    )
    ds = dataset(path)
    ds.frames["deals"] = ds.frames["deals"].drop("amount")
    rep = build_report(ds, ds.config, ReportOptions())
    [alert] = rep.alerts
    assert (alert.kind, alert.kpi) == ("quality", "avg_deal_size")
    assert alert.message == (
        "Average deal size: target >= 100 not checked (deals has no amount column)"
    )


def kpi(
    direction: str, change: float | None, history_previous=None, value=10.0, previous=None
) -> KpiValue:
    return KpiValue(
        f"k_{direction}", f"K {direction}", "count", value, direction=direction,
        change=change, history_previous=history_previous, previous=previous,
    )  # fmt: skip


def test_change_alerts_only_in_the_bad_direction():
    kpis = [
        kpi("higher", -0.3, value=7.0, previous=10.0),  # fell 30%, higher is better: alert
        kpi("higher", 0.5),  # rose: good news
        kpi("lower", 0.25, value=12.5, previous=10.0),  # rose 25%, lower is better: alert
        kpi("lower", -0.9),
        kpi("neutral", -0.9),  # no good or bad side
        kpi("higher", -0.2),  # exactly the threshold is not "more than"
        kpi("higher", None),
    ]
    alerts = change_alerts(kpis, 0.2, "May 2025 vs Apr 2025")
    assert [(a.kpi, a.kind) for a in alerts] == [("k_higher", "change"), ("k_lower", "change")]
    assert alerts[0].message == "K higher fell 30%: 10 -> 7 (May 2025 vs Apr 2025)"
    assert alerts[1].message == "K lower rose 25%: 10 -> 12.50 (May 2025 vs Apr 2025)"
    # The value compared is the latest period's when the report has one.
    latest = kpi("higher", -0.5, value=100.0, previous=8.0)
    latest.latest = 4.0
    [alert] = change_alerts([latest], 0.2)
    assert alert.message == "K higher fell 50%: 8 -> 4 (against the previous period)"


def test_change_against_the_last_saved_run():
    # value 6 vs 10 at the previous run: -40% on a higher-is-better KPI.
    [alert] = change_alerts([kpi("higher", None, history_previous=10.0, value=6.0)], 0.2)
    assert alert.message == "K higher fell 40%: 10 -> 6 (since the last saved run)"


def _report_with_inputs(inputs):
    class Rep:
        pass

    rep = Rep()
    rep.inputs = inputs
    return rep


def test_rejected_rows_and_stale_files():
    now = 1_750_000_000.0
    inputs = [
        InputSummary("deals.csv", "deals", 100, 97, 3, modified_at=now - 5 * 86_400),
        InputSummary("leads.csv", "leads", 50, 50, 0, modified_at=now - 1 * 86_400),
        InputSummary("a.xlsx", "spend", 10, 9, 1, sheet="2025", modified_at=None),
    ]
    settings = AlertSettings(max_file_age_days=2, max_rejected_share=0.05, no_data_period=None)
    alerts = quality_alerts(_report_with_inputs(inputs), Dataset(), settings, Grain(), now=now)
    # deals: 3/100 = 3% <= 5%: fine; a.xlsx: 1/10 = 10% > 5%: alert. deals is 5 days old > 2.
    assert [a.message for a in alerts] == [
        "deals.csv: file is 5.0 days old (allowed 2)",
        "a.xlsx [2025]: 1 of 10 rows rejected",
    ]
    assert all(a.kind == "quality" for a in alerts)
    strict = AlertSettings(no_data_period=None)  # default: any rejected row alerts
    alerts = quality_alerts(_report_with_inputs(inputs), Dataset(), strict, Grain(), now=now)
    assert [a.message for a in alerts] == [
        "deals.csv: 3 of 100 rows rejected",
        "a.xlsx [2025]: 1 of 10 rows rejected",
    ]


def series(*dates: datetime) -> pl.Series:
    return pl.Series("d", list(dates), dtype=pl.Datetime("us"))


def test_empty_periods_over_the_data_span():
    dates = series(D(2025, 1, 5), D(2025, 1, 30), D(2025, 4, 2), D(2025, 6, 30))
    gaps = empty_periods(dates, Grain(period="month"))
    assert gaps == [D(2025, 2, 1), D(2025, 3, 1), D(2025, 5, 1)]


def test_empty_periods_in_jalali_months():
    # Farvardin 1403 is 2024-03-20 .. 2024-04-19, Ordibehesht 2024-04-20 .. 2024-05-20 (31
    # days), Khordad from 2024-05-21: Ordibehesht is empty (Gregorian months would find
    # April empty instead).
    dates = series(D(2024, 3, 25), D(2024, 5, 25))
    assert empty_periods(dates, Grain(period="month", calendar="jalali")) == [D(2024, 4, 20)]
    # A window 2024-04-25 .. 2024-07-22 cuts Ordibehesht, so judging starts with Khordad
    # (2024-05-21, which holds 05-25); Tir (31 days, 2024-06-21 .. 2024-07-21) is empty.
    cut = Grain(period="month", calendar="jalali", since=D(2024, 4, 25), until=D(2024, 7, 22))
    assert empty_periods(dates, cut) == [D(2024, 6, 21)]


def test_empty_periods_judge_only_periods_the_window_covers():
    dates = series(D(2025, 1, 20), D(2025, 3, 3))
    # Window 2025-01-15 .. 2025-04-10: January and April are cut, so only Feb and Mar count.
    grain = Grain(period="month", since=D(2025, 1, 15), until=D(2025, 4, 10))
    assert empty_periods(dates, grain) == [D(2025, 2, 1)]
    # Weeks starting on Sunday: 2025-01-05 and 2025-01-19 are Sundays; the week of 01-12 is empty.
    weekly = Grain(period="week", week_start="sunday")
    assert empty_periods(series(D(2025, 1, 6), D(2025, 1, 20)), weekly) == [D(2025, 1, 12)]
    # A window with no rows at all: every covered period is empty.
    empty = Grain(period="month", since=D(2025, 5, 1), until=D(2025, 7, 1))
    assert empty_periods(dates, empty) == [D(2025, 5, 1), D(2025, 6, 1)]


def test_empty_period_alert_in_the_report(tmp_path):
    # Deals created 2025-01-05, 01-10, then 03-02..03-20: February has none.
    rep = report_for(tmp_path, "[alerts]\nchange_threshold = false\n")
    assert [a.message for a in rep.alerts] == ["no deals created in 1 month: 2025-02"]


def test_one_kpi_failing_to_compute_does_not_take_the_others_down():
    from crmkpi.reporting.alerts import evaluate_each

    frame = conform("deals", pl.DataFrame(DEALS).lazy()).collect()
    # An amount column that is text cannot be averaged: avg_deal_size fails when collected.
    broken = frame.with_columns(pl.col("amount").cast(pl.String) + "x")
    ds = Dataset(frames={"deals": broken})
    skipped: dict[str, str] = {}
    frames = evaluate_each(ds, ["deals_won", "avg_deal_size"], Grain(), None, skipped)
    assert frames["deals_won"]["value"][0] == 2  # deals 1 and 3
    assert "avg_deal_size" not in frames
    assert skipped["avg_deal_size"].startswith("could not compute: ")


def test_change_threshold_per_kpi_overrides_the_default():
    quiet = kpi("higher", -0.3, value=7.0, previous=10.0)  # -30%: over the default 20%
    noisy = kpi("lower", 0.5, value=15.0, previous=10.0)  # +50% on a lower-is-better KPI
    # k_higher silenced; k_lower only alerts beyond 60%.
    assert change_alerts([quiet, noisy], 0.2, None, {"k_higher": None, "k_lower": 0.6}) == []
    # No default at all: only the KPI given its own threshold is watched.
    [alert] = change_alerts([quiet, noisy], None, None, {"k_lower": 0.4})
    assert alert.kpi == "k_lower"


def test_a_change_alerts_only_with_enough_rows_behind_both_values():
    win_rate = KpiValue("win_rate", "Win rate", "ratio", 0.2, direction="higher",
                        previous=0.4, change=-0.5)  # fmt: skip
    win_rate.latest = 0.2
    few = {"win_rate": (5.0, 40.0, "deals closed")}
    # Win rate halved, but over 5 closed deals this quarter: noise, not news.
    assert change_alerts([win_rate], 0.2, "2026-Q3 vs 2026-Q2", support=few, min_rows=30) == []
    enough = {"win_rate": (106.0, 120.0, "deals closed")}
    [alert] = change_alerts([win_rate], 0.2, "2026-Q3 vs 2026-Q2", support=enough, min_rows=30)
    # Each alert says what it compares: the two periods and the rows behind each value.
    assert alert.message == (
        "Win rate fell 50%: 40.0% -> 20.0% (2026-Q3 vs 2026-Q2, 106 vs 120 deals closed)"
    )
    # A count is its own support: "Deals won fell 80%: 5 -> 1" is two handfuls of deals.
    won = KpiValue("deals_won", "Deals won", "count", 1.0, direction="higher", previous=5.0,
                   change=-0.8)  # fmt: skip
    won.latest = 1.0
    assert change_alerts([won], 0.2, support={"deals_won": (1.0, 5.0, None)}, min_rows=30) == []


def test_a_cohort_rate_is_never_alerted_on():
    close_rate = KpiValue("close_rate", "Close rate (cohort)", "ratio", 0.17,
                          direction="higher", previous=0.33, change=-0.47)  # fmt: skip
    close_rate.latest = 0.17
    # Recent deals have not closed yet: the latest cohort always looks worse.
    assert change_alerts([close_rate], 0.2, "2026-Q3 vs 2026-Q2") == []


def test_change_support_counts_the_rows_of_each_compared_period(tmp_path):
    rep = report_for(tmp_path, "", since=D(2025, 3, 1), until=D(2025, 4, 1))
    from crmkpi.reporting.alerts import change_support

    support = change_support(rep, dataset())
    # March 2025 against February: deals closed in March 5 (1, 2, 3, 4, 5), February none.
    assert rep.comparison is not None and rep.comparison.label == "vs Feb 2025"
    assert support["win_rate"] == (5, 0, "deals closed")
    assert support["deals_won"] == (2.0, 0.0, None)


def test_min_rows_is_configurable(tmp_path):
    path = tmp_path / "crmkpi.toml"
    path.write_text("[alerts]\nmin_rows = 50\n", encoding="utf-8")
    assert load_config(path).alert_settings.min_rows == 50
    path.write_text("[alerts]\nmin_rows = -1\n", encoding="utf-8")
    from crmkpi.errors import ConfigError

    with pytest.raises(ConfigError, match="min_rows"):
        load_config(path)


def test_trend_periods_before_the_first_row_are_blank_not_zero(tmp_path):
    rep = report_for(tmp_path, "", period="month")
    trend = dict(rep.kpis["deals_created"].trend)
    # Deals begin on 5 January 2025: the twelve months end with March 2025; April to December
    # 2024 hold no export at all (blank), February 2025 is a month with no deal created (0).
    assert [trend[m] for m in ("2024-04", "2024-12")] == [None, None]
    assert [trend[m] for m in ("2025-01", "2025-02", "2025-03")] == [2, 0, 5]


# The rejection alert names the main reasons with their counts, not only the total.


def test_reasons_are_counted_and_commonest_first(tmp_path: Path) -> None:
    f = tmp_path / "deals.csv"
    f.write_text(
        "Deal ID,Stage,Amount,Created\n"
        "1,Won,10,2024-01-01\n"
        ",Won,5,2024-01-02\n"  # no id
        ",Lost,5,2024-01-03\n"  # no id
        "2,Open,7,\n"  # no date: loads (a deal needs no date)
        ",,,\n",  # blank
        encoding="utf-8",
    )
    ds = crmkpi.load([f])
    summary = ds.inputs[0]
    assert (summary.rows_loaded, summary.rows_rejected) == (2, 3)
    assert main_reasons(ds.rejects, str(f)) == " (2 missing Deal ID; 1 blank)"
    settings = AlertSettings(no_data_period=None)
    messages = [a.message for a in quality_alerts(ds, ds, settings, Grain())]
    assert f"{f}: 3 of 5 rows rejected (2 missing Deal ID; 1 blank)" in messages
    # the deal without a creation date is kept and said to be left out of creation periods
    facts = quality_facts(ds)
    assert facts.filter(fact="open_no_created_at")["count"].to_list() == [1]
    assert facts.filter(
        pl.col("fact").is_in(["won_no_created_at", "lost_no_created_at"])
    ).is_empty()


def test_unreadable_values_gather_under_one_reason(tmp_path: Path) -> None:
    f = tmp_path / "spend.csv"
    f.write_text("Date,Spend\n2024-01-01,10\n2024-01-02,x\n2024-01-03,y\n", encoding="utf-8")
    ds = crmkpi.load([f])
    # two different unreadable amounts are one reason with a count of 2, not two reasons
    reasons = main_reasons(ds.rejects, str(f))
    assert reasons == " (2 Spend: cannot read a value as a number (decimal point))"


PER_MONTH = """
[alerts]
change_threshold = false
no_data_period = false
[targets]
deals_won = { min = 1, per = "month" }
"""


def test_a_target_per_month_is_judged_on_the_latest_whole_month(tmp_path):
    # As of the data's last event (Mar 25) the latest whole month is February: no deal won.
    # Judged on the report's window instead, 2 deals won would meet it.
    rep = report_for(tmp_path, PER_MONTH)
    assert rep.kpis["deals_won"].value == 2
    assert rep.kpis["deals_won"].status == "bad"
    assert rep.kpis["deals_won"].target == ">= 1 per month (2025-02: 0)"
    assert [a.message for a in rep.alerts] == [
        "Deals won (2025-02) 0 is below target >= 1 per month"
    ]
    # Up to Apr 1 March is whole: 2 won (Mar 1, Mar 20).
    march = report_for(tmp_path, PER_MONTH, until=D(2025, 4, 1))
    assert (march.kpis["deals_won"].status, march.alerts) == ("ok", [])


def test_a_per_owner_target_per_month_is_checked_per_owner(tmp_path):
    # March: Ana won deal 1 (Mar 1), Bo deal 3 (Mar 20), Cy nothing (active: created Mar 20).
    rep = report_for(
        tmp_path,
        "[alerts]\nchange_threshold = false\nno_data_period = false\n"
        '[targets.by_owner]\ndeals_won = { min = 1, per = "month" }\n',
        until=D(2025, 4, 1),
    )
    assert [(a.owner, a.message) for a in rep.alerts] == [
        ("Cy", "Cy: Deals won (2025-03) 0 is below target >= 1 per month")
    ]
