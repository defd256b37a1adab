"""MRR, movements, churn, retention, renewals, CLV and CAC on five customers, by hand.

Customer MRR at each month's end (window until 2024-05-01):
    c1  10 from Jan 1, 15 from Mar 1 (plan change, continuous)   Jan 10  Feb 10  Mar 15  Apr 15
    c2  20 Jan 15 - Feb 20 (price), back at 8 from Apr 10         Jan 20  Feb  0  Mar  0  Apr  8
    c3  5 from Feb 1                                               Jan  0  Feb  5  Mar  5  Apr  5
    c4  12 Jan 20 - Mar 31, then 6 from Apr 1 (1-day gap: same)   Jan 12  Feb 12  Mar 12  Apr  6
    MRR                                                            42      27      32      34
Movements: Jan new 42 (3 customers); Feb new 5 (c3), churned -20 (c2); Mar expansion 5 (c1);
Apr contraction -6 (c4), reactivation 8 (c2).
"""

from __future__ import annotations

import polars as pl
import pytest
from metric_frames import dt, one

from crmkpi.config import Config
from crmkpi.dataset import Dataset
from crmkpi.metrics import Grain, evaluate, evaluate_tables

UNTIL = dt(2024, 5, 1)
MONTHS = [dt(2024, 1, 1), dt(2024, 2, 1), dt(2024, 3, 1), dt(2024, 4, 1)]


def subscriptions() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": ["c1", "c1", "c2", "c3", "c2", "c4", "c4"],
            "start_at": [dt(2024, 1, 1), dt(2024, 3, 1), dt(2024, 1, 15), dt(2024, 2, 1),
                         dt(2024, 4, 10), dt(2024, 1, 20), dt(2024, 4, 1)],
            "end_at": [dt(2024, 3, 1), None, dt(2024, 2, 20), None, None, dt(2024, 3, 31), None],
            "mrr": [10.0, 15.0, 20.0, 5.0, 8.0, 12.0, 6.0],
            "churn_reason": [None, None, "price", None, None, None, None],
        }
    )  # fmt: skip


def ds() -> Dataset:
    return Dataset(frames={"subscriptions": subscriptions()})


def test_mrr_now_and_per_month() -> None:
    got = evaluate(ds(), ["mrr", "arr"], Grain(until=UNTIL))
    assert one(got, "mrr") == 34.0
    assert one(got, "arr") == 408.0
    monthly = evaluate(ds(), ["mrr"], Grain(period="month", until=UNTIL))["mrr"]
    assert monthly["period"].to_list() == MONTHS
    assert monthly["value"].to_list() == [42.0, 27.0, 32.0, 34.0]


def test_mrr_movements_table() -> None:
    t = evaluate_tables(ds(), ["mrr_movements"], Grain(period="month", until=UNTIL))
    t = t["mrr_movements"]
    assert t["period"].to_list() == MONTHS
    assert t["new"].to_list() == [42.0, 5.0, 0.0, 0.0]
    assert t["churned"].to_list() == [0.0, -20.0, 0.0, 0.0]
    assert t["expansion"].to_list() == [0.0, 0.0, 5.0, 0.0]
    assert t["contraction"].to_list() == [0.0, 0.0, 0.0, -6.0]
    assert t["reactivation"].to_list() == [0.0, 0.0, 0.0, 8.0]
    assert t["net_new_mrr"].to_list() == [42.0, -15.0, 5.0, 2.0]
    assert t["mrr_end"].to_list() == [42.0, 27.0, 32.0, 34.0]
    assert t["customers_end"].to_list() == [3, 3, 3, 4]
    assert t["churned_customers"].to_list() == [0, 1, 0, 0]


def test_rates_for_the_latest_month_without_period() -> None:
    ids = ["quick_ratio", "customer_churn_rate", "revenue_churn_rate",
           "net_revenue_retention", "customer_retention_rate"]  # fmt: skip
    got = evaluate(ds(), ids, Grain(until=UNTIL))
    # April: start MRR 32, 3 customers; reactivation 8, contraction -6.
    assert one(got, "quick_ratio") == pytest.approx(8 / 6)
    assert one(got, "customer_churn_rate") == 0.0
    assert one(got, "revenue_churn_rate") == pytest.approx(6 / 32)
    assert one(got, "net_revenue_retention") == pytest.approx(26 / 32)
    assert one(got, "customer_retention_rate") == pytest.approx((4 - 1) / 3)


def test_rates_per_month() -> None:
    ids = ["customer_churn_rate", "revenue_churn_rate", "net_revenue_retention",
           "customer_retention_rate", "quick_ratio"]  # fmt: skip
    got = evaluate(ds(), ids, Grain(period="month", until=UNTIL))
    feb = {k: v.filter(pl.col("period") == dt(2024, 2, 1))["value"][0] for k, v in got.items()}
    # February: start 42 MRR, 3 customers; c2 churned 20, c3 new 5; end 3 customers.
    assert feb["customer_churn_rate"] == pytest.approx(1 / 3)
    assert feb["revenue_churn_rate"] == pytest.approx(20 / 42)
    assert feb["net_revenue_retention"] == pytest.approx(22 / 42)
    assert feb["customer_retention_rate"] == pytest.approx((3 - 1) / 3)
    assert feb["quick_ratio"] == pytest.approx(5 / 20)
    jan = got["customer_churn_rate"]["value"][0]
    assert jan is None  # no customer at January's start


def test_churn_reasons() -> None:
    t = evaluate_tables(ds(), ["churn_reasons"], Grain(until=UNTIL))["churn_reasons"]
    assert t.to_dicts() == [
        {"churn_reason": "price", "customers": 1, "mrr_lost": 20.0, "share": 1.0}
    ]


def test_churn_reasons_by_owner_share_each_owners_churn() -> None:
    # c3 (owner y) also leaves, on Apr 20, over budget; c2 (owner x) left over price.
    frame = subscriptions().with_columns(
        pl.Series("owner", ["x", "x", "x", "y", "x", "y", "y"]),
        pl.when(pl.col("customer_id") == "c3").then(dt(2024, 4, 20)).otherwise("end_at")
        .alias("end_at"),
        pl.when(pl.col("customer_id") == "c3").then(pl.lit("budget")).otherwise("churn_reason")
        .alias("churn_reason"),
    )  # fmt: skip
    grain = Grain(until=UNTIL, by=("owner",))
    t = evaluate_tables(Dataset(frames={"subscriptions": frame}), ["churn_reasons"], grain)
    # Each reason is all of its owner's churn (1.0), not half of the team's.
    assert t["churn_reasons"].select("owner", "churn_reason", "customers", "share").rows() == [
        ("x", "price", 1, 1.0),
        ("y", "budget", 1, 1.0),
    ]


def test_arpa_clv_with_margin() -> None:
    grain = Grain(period="month", until=UNTIL)
    got = evaluate(ds(), ["arpa", "clv"], grain, Config(gross_margin=0.5))
    feb = {k: v.filter(pl.col("period") == dt(2024, 2, 1))["value"][0] for k, v in got.items()}
    # February: ARPA 27 / 3 = 9; monthly churn 1/3; CLV = 9 x 0.5 / (1/3) = 13.5.
    assert feb["arpa"] == 9.0
    assert feb["clv"] == pytest.approx(13.5)
    # April: no churn -> lifetime unbounded -> null, not infinity.
    assert got["clv"]["value"][-1] is None


def test_cac_cost_per_lead_and_payback() -> None:
    spend = pl.DataFrame({"date": [dt(2024, 2, 1), dt(2024, 2, 10)], "amount": [300.0, 100.0],
                          "category": ["marketing", "sales"]})  # fmt: skip
    deals = pl.DataFrame(
        {
            "status": ["won", "won", "won", "lost"],
            "customer_id": ["c3", "c3", None, "c9"],
            "created_at": [dt(2024, 1, 1)] * 4,
            "closed_at": [dt(2024, 2, 1), dt(2024, 2, 20), dt(2024, 2, 5), dt(2024, 2, 6)],
        }
    )
    leads = pl.DataFrame({"id": ["1", "2", "3", "4", "5"], "created_at": [dt(2024, 2, 3)] * 5})
    data = Dataset(frames={"subscriptions": subscriptions(), "spend": spend, "deals": deals,
                           "leads": leads})  # fmt: skip
    grain = Grain(period="month", since=dt(2024, 2, 1), until=dt(2024, 3, 1))
    ids = ["new_customers", "cac", "cac_fully_loaded", "cost_per_lead", "cac_payback_months",
           "clv_cac_ratio"]  # fmt: skip
    got = evaluate(data, ids, grain)
    feb = {k: v["value"][0] for k, v in got.items()}
    # New customers in Feb: c3's first win (Feb 1) and the won deal without customer id;
    # c3's second win is not new. Marketing spend 300 -> CAC 150, 5 leads -> 60 per lead;
    # with the sales spend, 400 -> fully loaded CAC 200.
    assert feb["new_customers"] == 2
    assert feb["cac"] == 150.0
    assert feb["cac_fully_loaded"] == 200.0
    assert feb["cost_per_lead"] == 60.0
    # Payback over the fully loaded CAC (Skok): 200 / ARPA (Feb 9, margin 1) = 200 / 9;
    # CLV 27 -> CLV:CAC = 27 / 200.
    assert feb["cac_payback_months"] == pytest.approx(200 / 9)
    assert feb["clv_cac_ratio"] == pytest.approx(27 / 200)


def test_movements_by_plan_add_up_to_the_total() -> None:
    plans = subscriptions().with_columns(
        plan=pl.Series(["basic", "pro", "basic", "basic", "basic", "pro", "pro"])
    )
    data = Dataset(frames={"subscriptions": plans})
    grain = Grain(period="month", until=UNTIL)
    total = evaluate_tables(data, ["mrr_movements"], grain)["mrr_movements"]
    by_plan = evaluate_tables(data, ["mrr_movements"], grain.with_(by=("plan",)))
    summed = by_plan["mrr_movements"].group_by("period").agg(pl.col("net_new_mrr", "mrr_end").sum())
    joined = total.join(summed, on="period", suffix="_by_plan")
    assert joined["net_new_mrr"].to_list() == joined["net_new_mrr_by_plan"].to_list()
    assert joined["mrr_end"].to_list() == joined["mrr_end_by_plan"].to_list()
    # c1 moves from basic (10) to pro (15) in March: churn in basic, new in pro.
    march = by_plan["mrr_movements"].filter(pl.col("period") == dt(2024, 3, 1))
    rows = {r["plan"]: r for r in march.iter_rows(named=True)}
    assert rows["basic"]["churned"] == -10.0 and rows["pro"]["new"] == 15.0


def test_now_is_the_end_of_the_data_without_a_window() -> None:
    # Latest date in the rows: c2's return on Apr 10. MRR just after it: 15 + 5 + 6 + 8.
    assert one(evaluate(ds(), ["mrr"]), "mrr") == 34.0
    monthly = evaluate(ds(), ["mrr"], Grain(period="month"))["mrr"]
    assert monthly["period"].to_list() == MONTHS  # the grid ends with the data's last month


def test_renewal_rate_counts_term_ends_and_a_resubscription_is_no_renewal() -> None:
    subs = pl.DataFrame(
        {
            "customer_id": ["c1", "c2", "c2", "c3", "c3"],
            "start_at": [dt(2022, 1, 1), dt(2022, 3, 1), dt(2022, 9, 1), dt(2023, 2, 1),
                         dt(2024, 2, 1, 0, 1)],
            "end_at": [None, dt(2022, 9, 1), dt(2023, 5, 1), dt(2024, 2, 1), None],
            "mrr": [10.0, 10.0, 20.0, 10.0, 10.0],
            "churn_reason": [None, None, "price", "canceled", None],
            "term_months": [12.0] * 5,
        }
    )  # fmt: skip
    grain = Grain(until=dt(2024, 6, 1))
    got = evaluate(Dataset(frames={"subscriptions": subs}), ["renewal_rate"], grain)
    # c1 (annual, active): term ends 2023-01-01 and 2024-01-01, both renewed.
    # c2: a plan change on 2022-09-01 continues the contract begun 2022-03-01; it renews on
    # 2023-03-01, then is cancelled on 2023-05-01: its 2024-03-01 term end is not renewed.
    # c3: cancelled at its 2024-02-01 term end and subscribed again a minute later: not a
    # renewal (the new contract's first term ends in 2025, not yet due).
    # Up 2 + 2 + 1 = 5, renewed 2 + 1 + 0 = 3. Reading "a next row within a day" as renewal
    # would count c3 as renewed: 4 / 5.
    assert one(got, "renewal_rate") == pytest.approx(3 / 5)


def test_renewal_rate_needs_terms() -> None:
    skipped: dict[str, str] = {}
    plain = subscriptions()
    evaluate(Dataset(frames={"subscriptions": plain}), ["renewal_rate"], skipped=skipped)
    assert "does not say when a subscription comes up for renewal" in skipped["renewal_rate"]


def test_a_customer_who_comes_and_goes_within_a_period_is_new_and_churned() -> None:
    subs = pl.DataFrame(
        {
            "customer_id": ["c1", "c2"],
            "start_at": [dt(2024, 1, 1), dt(2024, 2, 1)],
            "end_at": [None, dt(2024, 3, 15)],
            "mrr": [10.0, 30.0],
        }
    )
    grain = Grain(period="quarter", until=dt(2024, 4, 1))
    moves = evaluate_tables(Dataset(frames={"subscriptions": subs}), ["mrr_movements"], grain)
    q1 = moves["mrr_movements"].row(0, named=True)
    # c2 paid 30 from February to mid-March: new 10 + 30, churned -30, net +10 = MRR at end;
    # two new customers, one churned. Netting c2's rows to zero would hide both.
    assert (q1["new"], q1["churned"], q1["net_new_mrr"], q1["mrr_end"]) == (40.0, -30.0, 10.0, 10.0)
    assert (q1["new_customers"], q1["churned_customers"], q1["customers_end"]) == (2, 1, 1)


def test_churn_rates_count_only_who_was_a_customer_at_the_period_start() -> None:
    # February: c1 (10, a customer since January) leaves; c2 starts and leaves within it
    # (churned in the movements, but never among February's starting customers).
    # Customer churn = 1 / 1 (c1 of {c1}), not 2 / 1; revenue churn = 10 / 10, not 40 / 10.
    subs = pl.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3"],
            "start_at": [dt(2024, 1, 1), dt(2024, 2, 5), dt(2024, 1, 1)],
            "end_at": [dt(2024, 2, 10), dt(2024, 2, 20), None],
            "mrr": [10.0, 30.0, 0.0],
        }
    )
    ds = Dataset(frames={"subscriptions": subs})
    grain = Grain(period="month", until=dt(2024, 3, 1))
    got = evaluate(ds, ["customer_churn_rate", "revenue_churn_rate"], grain)
    february = {k: v.filter(pl.col("period") == dt(2024, 2, 1))["value"][0] for k, v in got.items()}
    assert february == {"customer_churn_rate": 1.0, "revenue_churn_rate": 1.0}
    moves = evaluate_tables(ds, ["mrr_movements"], grain)["mrr_movements"]
    row = moves.filter(pl.col("period") == dt(2024, 2, 1)).row(0, named=True)
    assert (row["churned_customers"], row["churned"]) == (2, -40.0)  # the movements keep both
