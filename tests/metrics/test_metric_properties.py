"""Invariants on random data: rates stay in [0, 1], funnels never rise, breakdowns add up,
stocks match a brute-force count, MRR movements add up to the MRR change."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from metric_frames import STAGES

from crmkpi.dataset import Dataset
from crmkpi.metrics import Grain, evaluate, evaluate_tables

START = datetime(2024, 1, 1)
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def deal_rows(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(1, 14))
    rows = []
    for i in range(n):
        status = draw(st.sampled_from(["open", "won", "lost"]))
        created = START + timedelta(hours=draw(st.integers(0, 24 * 100)))
        closed = (
            None if status == "open" else created + timedelta(hours=draw(st.integers(0, 24 * 60)))
        )
        amount = draw(st.one_of(st.none(), st.floats(1, 1000, allow_nan=False)))
        rows.append({"id": str(i), "owner": draw(st.sampled_from(["x", "y", "z"])),
                     "status": status, "amount": amount, "created_at": created,
                     "closed_at": closed,
                     "stage": {"won": "Won", "lost": "Lost"}.get(
                         status, draw(st.sampled_from(STAGES.open_order)))})  # fmt: skip
    schema = {"id": pl.String, "owner": pl.String, "status": pl.String, "amount": pl.Float64,
              "created_at": pl.Datetime("us"), "closed_at": pl.Datetime("us"),
              "stage": pl.String}  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


RATES = ["win_rate", "close_rate", "win_rate_amount"]
ADDITIVE = ["deals_created", "deals_won", "deals_lost", "revenue_won", "deals_open"]


@SETTINGS
@given(deal_rows(), st.sampled_from([None, "week", "month"]))
def test_rates_between_zero_and_one(deals: pl.DataFrame, period: str | None) -> None:
    got = evaluate(Dataset(frames={"deals": deals}), RATES, Grain(by=("owner",), period=period))
    for kpi in RATES:
        values = got[kpi]["value"].drop_nulls()
        assert values.is_finite().all() and ((values >= 0) & (values <= 1)).all(), kpi


@SETTINGS
@given(deal_rows())
def test_breakdowns_add_up_to_the_total(deals: pl.DataFrame) -> None:
    ds = Dataset(frames={"deals": deals})
    total = evaluate(ds, ADDITIVE)
    by_owner = evaluate(ds, ADDITIVE, Grain(by=("owner",)))
    monthly = evaluate(ds, ADDITIVE, Grain(period="month"))
    monthly_by_owner = evaluate(ds, ["deals_open"], Grain(by=("owner",), period="month"))
    for kpi in ADDITIVE:
        whole = total[kpi]["value"][0]
        assert abs(by_owner[kpi]["value"].sum() - whole) < 1e-6, kpi
        if kpi != "deals_open":  # a stock does not add up over time
            assert abs(monthly[kpi]["value"].sum() - whole) < 1e-6, kpi
    per_period = monthly_by_owner["deals_open"].group_by("period").agg(pl.col("value").sum())
    joined = per_period.join(monthly["deals_open"], on="period", suffix="_total")
    assert (joined["value"] == joined["value_total"]).all()


@SETTINGS
@given(deal_rows())
def test_open_deals_per_month_match_brute_force(deals: pl.DataFrame) -> None:
    got = evaluate(Dataset(frames={"deals": deals}), ["deals_open"], Grain(period="month"))
    rows = deals.to_dicts()
    for start, value in zip(got["deals_open"]["period"], got["deals_open"]["value"], strict=True):
        end = (start + timedelta(days=32)).replace(day=1)
        expected = sum(
            1 for r in rows
            if r["created_at"] < end and (r["closed_at"] is None or r["closed_at"] >= end)
        )  # fmt: skip
        assert value == expected


@SETTINGS
@given(deal_rows())
def test_open_pipeline_value_per_owner_and_month_matches_brute_force(deals: pl.DataFrame) -> None:
    """Sum and "is any amount known" come from one pass over entries and exits: each must
    still be what counting the deals open at each month's end gives. The deals with no amount
    separate the two: they keep a month's deals open but add nothing, and when every open deal
    of an owner lacks one the value is unknown, not 0."""
    grain = Grain(by=("owner",), period="month")
    got = evaluate(Dataset(frames={"deals": deals}), ["open_pipeline_value"], grain)
    rows = deals.to_dicts()
    for owner, start, value in got["open_pipeline_value"].select("owner", "period", "value").rows():
        end = (start + timedelta(days=32)).replace(day=1)
        amounts = [
            r["amount"] for r in rows
            if r["owner"] == owner and r["created_at"] < end
            and (r["closed_at"] is None or r["closed_at"] >= end) and r["amount"] is not None
        ]  # fmt: skip
        expected = sum(amounts) if amounts else None
        assert (value is None) == (expected is None), (owner, start)
        assert value is None or abs(value - expected) < 1e-6, (owner, start)


@st.composite
def histories(draw: st.DrawFn) -> dict[str, pl.DataFrame]:
    deals = draw(deal_rows())
    rows = []
    for deal_id in deals["id"]:
        for step in range(draw(st.integers(0, 5))):
            entered = START + timedelta(days=step + draw(st.integers(0, 3)))
            stage = draw(st.sampled_from(STAGES.order))
            rows.append({"deal_id": deal_id, "stage": stage, "entered_at": entered})
    schema = {"deal_id": pl.String, "stage": pl.String, "entered_at": pl.Datetime("us")}
    return {"deals": deals, "stage_history": pl.DataFrame(rows, schema=schema)}


@SETTINGS
@given(histories(), st.booleans())
def test_funnel_counts_never_rise(frames: dict[str, pl.DataFrame], use_history: bool) -> None:
    if not use_history:
        frames = {"deals": frames["deals"]}
    ds = Dataset(frames=frames, stages=STAGES)
    funnel = evaluate_tables(ds, ["funnel"])["funnel"]
    reached = funnel["reached"].to_list()
    assert all(a >= b for a, b in zip(reached, reached[1:], strict=False))
    assert reached[0] == frames["deals"].height  # every deal reached the first stage
    conversions = funnel["conversion_from_previous"].drop_nulls()
    assert ((conversions >= 0) & (conversions <= 1)).all()


@st.composite
def subscription_rows(draw: st.DrawFn) -> pl.DataFrame:
    rows = []
    for customer in range(draw(st.integers(1, 6))):
        day = draw(st.integers(0, 60))
        for _ in range(draw(st.integers(1, 3))):
            length = draw(st.one_of(st.none(), st.integers(1, 120)))
            rows.append({"customer_id": f"c{customer}", "start_at": START + timedelta(days=day),
                         "end_at": None if length is None else START + timedelta(days=day + length),
                         "mrr": float(draw(st.integers(0, 50)))})  # fmt: skip
            if length is None:
                break
            day += length + draw(st.integers(0, 40))
    schema = {"customer_id": pl.String, "start_at": pl.Datetime("us"),
              "end_at": pl.Datetime("us"), "mrr": pl.Float64}  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


UNTIL = datetime(2024, 11, 1)


@SETTINGS
@given(subscription_rows())
def test_mrr_movements_add_up_to_the_mrr_change(subs: pl.DataFrame) -> None:
    ds = Dataset(frames={"subscriptions": subs})
    grain = Grain(period="month", until=UNTIL)
    table = evaluate_tables(ds, ["mrr_movements"], grain)["mrr_movements"]
    mrr = evaluate(ds, ["mrr"], grain)["mrr"]
    moves = table.select("new", "expansion", "contraction", "churned", "reactivation")
    net = moves.sum_horizontal()
    assert ((net - table["net_new_mrr"]).abs() < 1e-6).all()
    assert ((table["mrr_end"] - table["mrr_start"] - table["net_new_mrr"]).abs() < 1e-6).all()
    # MRR at each month's end, brute force over the rows (a row continues into the next one
    # of the same customer when the gap is at most a day).
    rows = sorted(subs.to_dicts(), key=lambda r: (r["customer_id"], r["start_at"]))
    for r, nxt in zip(rows, [*rows[1:], None], strict=True):
        same = (
            nxt is not None and r["end_at"] is not None and nxt["customer_id"] == r["customer_id"]
        )
        if same and timedelta(0) <= nxt["start_at"] - r["end_at"] <= timedelta(days=1):
            r["end_at"] = nxt["start_at"]
    by_month = dict(zip(mrr["period"], mrr["value"], strict=True))
    for start, end_value, customers in zip(
        table["period"], table["mrr_end"], table["customers_end"], strict=True
    ):
        end = (start + timedelta(days=32)).replace(day=1)
        alive = [
            r for r in rows
            if r["start_at"] < end and (r["end_at"] is None or r["end_at"] >= end)
        ]  # fmt: skip
        expected = sum(r["mrr"] for r in alive)
        assert abs(end_value - expected) < 1e-6
        assert abs(by_month[start] - expected) < 1e-6
        per_customer: dict[str, float] = {}
        for r in alive:
            per_customer[r["customer_id"]] = per_customer.get(r["customer_id"], 0.0) + r["mrr"]
        assert customers == sum(1 for v in per_customer.values() if v > 1e-9)
    churn = evaluate(ds, ["customer_churn_rate"], grain)["customer_churn_rate"]["value"]
    assert ((churn.drop_nulls() >= 0) & (churn.drop_nulls() <= 1)).all()
