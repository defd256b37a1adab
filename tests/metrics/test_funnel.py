"""Funnel, conversion by owner, stuck deals, lost reasons, outliers, weighted pipeline, forecast."""

from __future__ import annotations

import math
import statistics

import polars as pl
import pytest
from metric_frames import STAGES, dt, one

from crmkpi.config import Config, ForecastSettings, StagesConfig
from crmkpi.dataset import Dataset, StageModel
from crmkpi.metrics import evaluate, evaluate_tables
from crmkpi.metrics.funnel import WON_ROW
from crmkpi.metrics.stages import has_history

# The stage win rates of these few deals are trusted from one closed deal on.
TRUST_ONE_DEAL = Config(forecast=ForecastSettings(min_closed_deals=1))


def current_stage_deals() -> pl.DataFrame:
    """No history. Reach by the rules: d1 Proposal(2), d2 Lead(0), d3 won -> Negotiation(3),
    d4 lost in a closing stage -> first stage (0), d5 lost, CRM kept Qualified -> 1."""
    return pl.DataFrame(
        {
            "id": ["d1", "d2", "d3", "d4", "d5"],
            "owner": ["x", "x", "y", "y", "x"],
            "stage": ["Proposal", "Lead", "Won", "Lost", "Qualified"],
            "status": ["open", "open", "won", "lost", "lost"],
            "amount": [100.0, 60.0, 500.0, 10.0, 30.0],
            "lost_reason": [None, None, None, "price", "timing"],
            "created_at": [dt(2024, 2, 1), dt(2024, 3, 20), dt(2024, 1, 1), dt(2024, 1, 2),
                           dt(2024, 1, 3)],
            "closed_at": [None, None, dt(2024, 1, 21), dt(2024, 1, 9), dt(2024, 1, 10)],
        }
    )  # fmt: skip


def test_funnel_from_current_stages() -> None:
    ds = Dataset(frames={"deals": current_stage_deals()}, stages=STAGES)
    f = evaluate_tables(ds, ["funnel"])["funnel"]
    assert f["stage"].to_list() == ["Lead", "Qualified", "Proposal", "Negotiation", WON_ROW]
    # Reached = reach >= stage rank: Lead all 5; Qualified d1 d3 d5; Proposal d1 d3; Neg d3.
    assert f["reached"].to_list() == [5, 3, 2, 1, 1]
    assert f["lost_at"].to_list() == [1, 1, 0, 0, None]
    assert f["conversion_from_previous"][0] is None
    assert f["conversion_from_previous"].to_list()[1:] == pytest.approx([3 / 5, 2 / 3, 1 / 2, 1])
    assert f["conversion_from_first"].to_list() == pytest.approx([1.0, 0.6, 0.4, 0.2, 0.2])
    assert f["median_days_in_stage"].null_count() == 5  # unknown without history


def history_frames() -> dict[str, pl.DataFrame]:
    """h1 skips Qualified then moves back to it (open); h2 re-enters Lead then is lost at
    Qualified; h3 jumps Lead -> Negotiation -> Won; h4 has no history rows (open at Lead)."""
    deals = pl.DataFrame(
        {
            "id": ["h1", "h2", "h3", "h4"],
            "owner": ["x", "x", "y", "y"],
            "stage": ["Qualified", "Lost", "Won", "Lead"],
            "status": ["open", "lost", "won", "open"],
            "amount": [100.0, 40.0, 300.0, 50.0],
            "created_at": [dt(2024, 1, 1), dt(2024, 1, 1), dt(2024, 1, 1), dt(2024, 1, 20)],
            "closed_at": [None, dt(2024, 1, 8), dt(2024, 1, 6), None],
        }
    )
    history = pl.DataFrame(
        {
            "deal_id": ["h1", "h1", "h1", "h2", "h2", "h2", "h2", "h3", "h3", "h3"],
            "stage": ["Lead", "Proposal", "Qualified", "Lead", "Lead", "Qualified", "Lost",
                      "Lead", "Negotiation", "Won"],
            "entered_at": [dt(2024, 1, 1), dt(2024, 1, 3), dt(2024, 1, 10), dt(2024, 1, 1),
                           dt(2024, 1, 2), dt(2024, 1, 4), dt(2024, 1, 8), dt(2024, 1, 1),
                           dt(2024, 1, 5), dt(2024, 1, 6)],
        }
    )  # fmt: skip
    return {"deals": deals, "stage_history": history}


def test_funnel_from_history_skipped_stages_and_backward_moves() -> None:
    ds = Dataset(frames=history_frames(), stages=STAGES)
    f = evaluate_tables(ds, ["funnel"])["funnel"]
    # Furthest stage: h1 Proposal (2), h2 Qualified (1), h3 won (3), h4 Lead (0).
    assert f["reached"].to_list() == [4, 3, 2, 1, 1]
    assert f["lost_at"].to_list() == [0, 1, 0, 0, None]
    # Days per stay: Lead h1 2, h2 1 and 2 (re-entry), h3 4 -> median 2; Qualified h2 4
    # (h1's stay has not ended); Proposal h1 7; Negotiation h3 1.
    assert f["median_days_in_stage"].to_list()[:4] == [2.0, 4.0, 7.0, 1.0]


def test_funnel_note_says_where_it_came_from() -> None:
    from crmkpi.metrics import TABLE_CATALOG, Context

    spec = TABLE_CATALOG["funnel"]
    with_history = Context(Dataset(frames=history_frames(), stages=STAGES))
    without = Context(Dataset(frames={"deals": current_stage_deals()}, stages=STAGES))
    assert has_history(with_history) and not has_history(without)
    assert spec.note is not None
    assert "stage history" in spec.note(with_history)
    assert "current stages" in spec.note(without)


def test_funnel_order_inferred_from_history_when_not_declared() -> None:
    ds = Dataset(frames=history_frames())
    f = evaluate_tables(ds, ["funnel"])["funnel"]
    # Mean entry position: Lead (1+1+2+1)/4=1.25, Proposal 2, Negotiation 2, Qualified
    # (3+3)/2=3; Won and Lost are closing (current stages of closed deals).
    assert f["stage"].to_list() == ["Lead", "Negotiation", "Proposal", "Qualified", WON_ROW]


def test_funnel_without_order_or_history_is_skipped() -> None:
    skipped: dict[str, str] = {}
    evaluate_tables(Dataset(frames={"deals": current_stage_deals()}), ["funnel"], skipped=skipped)
    assert "stage order" in skipped["funnel"]


def test_stage_conversion_by_owner_beside_team() -> None:
    ds = Dataset(frames={"deals": current_stage_deals()}, stages=STAGES)
    t = evaluate_tables(ds, ["stage_conversion_by_owner"])["stage_conversion_by_owner"]
    x = t.filter(pl.col("owner") == "x")
    # x: d1 reach 2, d2 reach 0, d5 reach 1 -> Lead 3, Qualified 2, Proposal 1, Neg 0, won 0.
    assert x["reached"].to_list() == [3, 2, 1, 0, 0]
    assert x["team_conversion_from_first"].to_list() == pytest.approx([1.0, 0.6, 0.4, 0.2, 0.2])


def test_stuck_deals_against_history_p90_and_config() -> None:
    ds = Dataset(frames=history_frames(), stages=STAGES)
    stuck = evaluate_tables(ds, ["stuck_deals"], _grain_until(dt(2024, 1, 31)))["stuck_deals"]
    # h1 in Qualified since Jan 10: 21 days > p90 of past Qualified stays [4] = 4.
    # h4 in Lead since creation Jan 20: 11 days > p90 of Lead stays [2, 1, 2, 4]:
    # position 0.9 x 3 = 2.7 -> 2 + 0.7 x (4 - 2) = 3.4.
    assert stuck["id"].to_list() == ["h1", "h4"]
    assert stuck["days_in_stage"].to_list() == [21.0, 11.0]
    assert stuck["threshold_days"].to_list() == pytest.approx([4.0, 3.4])
    config = Config(stages=StagesConfig(stuck_days={"Lead": 30.0}))
    stuck = evaluate_tables(ds, ["stuck_deals"], _grain_until(dt(2024, 1, 31)), config)
    assert stuck["stuck_deals"]["id"].to_list() == ["h1"]


def _grain_until(until):  # noqa: ANN001, ANN202
    from crmkpi.metrics import Grain

    return Grain(until=until)


def test_lost_reasons_with_stage_lost_at() -> None:
    ds = Dataset(frames={"deals": current_stage_deals()}, stages=STAGES)
    t = evaluate_tables(ds, ["lost_reasons"])["lost_reasons"]
    assert t["lost_reason"].to_list() == ["price", "timing"]
    assert t["deals"].to_list() == [1, 1]
    assert t["share"].to_list() == [0.5, 0.5]
    assert t["value_lost"].to_list() == [10.0, 30.0]
    assert t["lost_at_stage"].to_list() == ["Lead", "Qualified"]


def test_lost_reasons_by_owner_share_each_owners_losses() -> None:
    from crmkpi.metrics import Grain

    ds = Dataset(frames={"deals": current_stage_deals()}, stages=STAGES)
    t = evaluate_tables(ds, ["lost_reasons"], Grain(by=("owner",)))["lost_reasons"]
    # x lost d5 (timing, at Qualified), y lost d4 (price, at Lead): each is all of its owner's
    # losses (1.0), not half of the team's.
    assert t.select("owner", "lost_reason", "share", "lost_at_stage").rows() == [
        ("x", "timing", 1.0, "Qualified"),
        ("y", "price", 1.0, "Lead"),
    ]


def test_deal_size_outliers_robust_rule() -> None:
    amounts = [90.0, 100.0, 110.0, 100.0, 95.0, 105.0, 10_000.0, 1.0]
    deals = pl.DataFrame(
        {
            "id": [f"o{i}" for i in range(len(amounts))],
            "status": ["won"] * 4 + ["open"] * 4,
            "amount": amounts,
        }
    )
    t = evaluate_tables(Dataset(frames={"deals": deals}), ["deal_size_outliers"])
    t = t["deal_size_outliers"]
    # Independent route: the same rule with the statistics module.
    logs = [math.log(a) for a in amounts]
    center = statistics.median(logs)
    spread = statistics.median(abs(v - center) for v in logs) * 1.4826
    expected = {f"o{i}" for i, v in enumerate(logs) if abs(v - center) / spread > 3}
    assert expected == {"o6", "o7"}
    assert set(t["id"]) == expected
    assert t["id"].to_list()[0] == "o6"  # |z| of 10000 is the largest
    assert t.filter(pl.col("id") == "o6")["side"][0] == "high"
    assert t["typical_amount"][0] == pytest.approx(math.exp(center))


def test_weighted_pipeline_probability_sources() -> None:
    deals = current_stage_deals()
    ds = Dataset(frames={"deals": deals}, stages=STAGES)
    # Historic win rate per stage among closed deals d3 (won, reach 3), d4 (0), d5 (1):
    # Lead 1/3, Proposal 1/1. Open: d1 Proposal 100 x 1 + d2 Lead 60 x 1/3 = 120.
    assert one(evaluate(ds, ["weighted_pipeline"]), "weighted_pipeline") == pytest.approx(120.0)
    config = Config(stages=StagesConfig(probability={"Lead": 0.1}))
    got = evaluate(ds, ["weighted_pipeline"], config=config)
    assert one(got, "weighted_pipeline") == pytest.approx(100.0 + 6.0)
    own = deals.with_columns(probability=pl.Series([0.5, None, None, None, None]))
    got = evaluate(Dataset(frames={"deals": own}, stages=STAGES), ["weighted_pipeline"],
                   config=config)  # fmt: skip
    assert one(got, "weighted_pipeline") == pytest.approx(50.0 + 6.0)


def test_forecast_by_month() -> None:
    ds = Dataset(frames={"deals": current_stage_deals()}, stages=STAGES)
    f = evaluate_tables(ds, ["forecast"], config=TRUST_ONE_DEAL)["forecast"]
    # Median cycle of won deals: d3 20 days. Now = latest date = Mar 20 (d2 created).
    # d1 (Feb 1 + 20 d = Feb 21, overdue) -> March, aged: 100 x 1 x 0.5. d2 (Apr 9) ->
    # April: 60 x 1/3 (Lead: d3 won of d3, d4, d5 closed).
    assert f["month"].to_list() == [dt(2024, 3, 1), dt(2024, 4, 1)]
    assert f["deals"].to_list() == [1, 1]
    assert f["expected_revenue"].to_list() == pytest.approx([50.0, 20.0])
    assert f["overdue_deals"].to_list() == [1, 0]
    assert f["pipeline_amount"].to_list() == [100.0, 60.0]


def test_stage_model_without_order_uses_config_order() -> None:
    config = Config(stages=StagesConfig(order=STAGES.order, won=("Won",), lost=("Lost",)))
    ds = Dataset(frames={"deals": current_stage_deals()}, stages=StageModel())
    f = evaluate_tables(ds, ["funnel"], config=config)["funnel"]
    assert f["reached"].to_list() == [5, 3, 2, 1, 1]


def test_forecast_times_deals_from_their_stage_with_history() -> None:
    deals = pl.DataFrame(
        {
            "id": ["w1", "o1", "o2"],
            "stage": ["Won", "Proposal", "Qualified"],
            "status": ["won", "open", "open"],
            "amount": [500.0, 100.0, 40.0],
            "created_at": [dt(2024, 1, 1), dt(2024, 1, 1), dt(2024, 3, 15)],
            "closed_at": [dt(2024, 1, 31), None, None],
        }
    )
    history = pl.DataFrame(
        {
            "deal_id": ["w1", "w1", "o1", "o1", "o2", "o2"],
            "stage": ["Lead", "Proposal", "Lead", "Proposal", "Lead", "Qualified"],
            "entered_at": [dt(2024, 1, 1), dt(2024, 1, 21), dt(2024, 1, 1), dt(2024, 3, 1),
                           dt(2024, 3, 15), dt(2024, 3, 16)],
        }
    )  # fmt: skip
    ds = Dataset(frames={"deals": deals, "stage_history": history}, stages=STAGES)
    f = evaluate_tables(ds, ["forecast"], config=TRUST_ONE_DEAL)["forecast"]
    # w1 won 10 days after entering Proposal: o1 (Proposal since Mar 1) -> Mar 11, before
    # "now" (Mar 15, latest date) -> March, overdue: aged, at half its probability. No deal
    # was won from Qualified: o2 falls back to the median cycle (30 days) from creation:
    # Apr 14 -> April. Every stage led to the one win, so probabilities are 1.
    assert f["month"].to_list() == [dt(2024, 3, 1), dt(2024, 4, 1)]
    assert f["expected_revenue"].to_list() == [50.0, 40.0]


def test_history_in_any_row_order_gives_the_same_tables() -> None:
    from crmkpi.metrics import Context
    from crmkpi.metrics.stages import history_in_order

    frames = history_frames()
    shuffled = {**frames, "stage_history": frames["stage_history"].reverse()}
    ordered_ds = Dataset(frames=frames, stages=STAGES)
    shuffled_ds = Dataset(frames=shuffled, stages=STAGES)
    assert history_in_order(Context(ordered_ds))
    assert not history_in_order(Context(shuffled_ds))
    ids = ["funnel", "stuck_deals", "forecast"]
    grain = _grain_until(dt(2024, 1, 31))
    a = evaluate_tables(ordered_ds, ids, grain)
    b = evaluate_tables(shuffled_ds, ids, grain)
    for table in ids:
        assert a[table].equals(b[table]), table


def test_weighted_pipeline_with_every_stage_configured() -> None:
    probability = {"Lead": 0.1, "Qualified": 0.2, "Proposal": 0.5, "Negotiation": 0.8}
    config = Config(stages=StagesConfig(probability=probability))
    ds = Dataset(frames={"deals": current_stage_deals()}, stages=STAGES)
    # Open: d1 Proposal 100 x 0.5 + d2 Lead 60 x 0.1.
    got = evaluate(ds, ["weighted_pipeline"], config=config)
    assert one(got, "weighted_pipeline") == pytest.approx(56.0)


def test_funnel_counts_deals_created_in_the_window() -> None:
    ds = Dataset(frames={"deals": current_stage_deals()}, stages=STAGES)
    f = evaluate_tables(ds, ["funnel"], _grain_since(dt(2024, 1, 2)))["funnel"]
    # d3 (Jan 1) is left out: d1 Proposal(2), d2 Lead(0), d4 Lead(0), d5 Qualified(1).
    assert f["reached"].to_list() == [4, 2, 1, 0, 0]


def _grain_since(since):  # noqa: ANN001, ANN202
    from crmkpi.metrics import Grain

    return Grain(since=since)


def test_kept_intermediates_give_the_same_tables() -> None:
    fresh = evaluate_tables(Dataset(frames=history_frames(), stages=STAGES),
                            ["funnel", "stuck_deals", "forecast"])  # fmt: skip
    ds = Dataset(frames=history_frames(), stages=STAGES)
    evaluate(ds, ["weighted_pipeline"])  # keeps the deals' reach for the next call
    again = evaluate_tables(ds, ["funnel", "stuck_deals", "forecast"])
    twice = evaluate_tables(ds, ["funnel", "stuck_deals", "forecast"])
    for table, frame in fresh.items():
        assert again[table].equals(frame) and twice[table].equals(frame), table
