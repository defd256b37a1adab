"""The forecast against quota: history-weighted probabilities, ageing, overdue deals, owners."""

from __future__ import annotations

import polars as pl
import pytest
from metric_frames import STAGES, by_key, dt, one

from crmkpi.config import Config, ForecastSettings, QuotaPlan, StagesConfig
from crmkpi.dataset import Dataset
from crmkpi.metrics import Grain, evaluate, evaluate_tables
from crmkpi.metrics.forecast import forecast_account

AS_OF = dt(2024, 5, 16)  # Q2 2024 (Apr 1 - Jul 1)


def forecast_frames() -> dict[str, pl.DataFrame]:
    """Five closed deals give the history; four open deals sit in Proposal, CRM says 90%.

    Proposal's win rate: closed deals that reached it are w1, w2 (won: every open stage, w2
    skipped it), l1 and l3 (lost there): 2 / 4 = 0.5. Counting the open deals that entered it
    as not won would give 1 / 7; the CRM gives 0.9.
    Ended stays in Proposal: w1 10 days, l1 20, l3 10: 90th percentile 10 + 0.8 x 10 = 18.
    As of May 16: o1 in Proposal 10 days, o2 45 days (stuck: aged), o3 6 days but expected to
    close Mar 15 (overdue: aged, moved to Q2), o4 15 days and expected in Q3.
    """
    deals = pl.DataFrame(
        {
            "id": ["w1", "w2", "l1", "l2", "l3", "o1", "o2", "o3", "o4"],
            "owner": ["ann", "ann", "bob", "bob", "bob", "ann", "ann", "bob", "bob"],
            "stage": ["Won", "Won", "Lost", "Lost", "Lost", "Proposal", "Proposal", "Proposal",
                      "Proposal"],
            "status": ["won", "won", "lost", "lost", "lost", "open", "open", "open", "open"],
            "amount": [100.0, 250.0, 50.0, 50.0, 50.0, 300.0, 600.0, 900.0, 1200.0],
            "probability": [1.0, 1.0, 0.0, 0.0, 0.0, 0.9, 0.9, 0.9, 0.9],
            "created_at": [dt(2024, 1, 1), dt(2024, 4, 1), dt(2024, 1, 1), dt(2024, 1, 1),
                           dt(2024, 1, 20), dt(2024, 4, 1), dt(2024, 3, 1), dt(2024, 3, 1),
                           dt(2024, 4, 1)],
            "closed_at": [dt(2024, 1, 20), dt(2024, 4, 20), dt(2024, 1, 25), dt(2024, 1, 3),
                          dt(2024, 2, 11), None, None, None, None],
            "expected_close_at": [None, None, None, None, None, dt(2024, 6, 15),
                                  dt(2024, 6, 20), dt(2024, 3, 15), dt(2024, 8, 10)],
        }
    )  # fmt: skip
    history = pl.DataFrame(
        [
            ("w1", "Lead", dt(2024, 1, 1)), ("w1", "Proposal", dt(2024, 1, 10)),
            ("w1", "Won", dt(2024, 1, 20)),
            ("w2", "Lead", dt(2024, 4, 1)), ("w2", "Won", dt(2024, 4, 20)),
            ("l1", "Lead", dt(2024, 1, 1)), ("l1", "Proposal", dt(2024, 1, 5)),
            ("l1", "Lost", dt(2024, 1, 25)),
            ("l2", "Lead", dt(2024, 1, 1)), ("l2", "Lost", dt(2024, 1, 3)),
            ("l3", "Lead", dt(2024, 1, 20)), ("l3", "Proposal", dt(2024, 2, 1)),
            ("l3", "Lost", dt(2024, 2, 11)),
            ("o1", "Lead", dt(2024, 4, 1)), ("o1", "Proposal", dt(2024, 5, 6)),
            ("o2", "Lead", dt(2024, 3, 1)), ("o2", "Proposal", dt(2024, 4, 1)),
            ("o3", "Lead", dt(2024, 3, 1)), ("o3", "Proposal", dt(2024, 5, 10)),
            ("o4", "Lead", dt(2024, 4, 1)), ("o4", "Proposal", dt(2024, 5, 1)),
        ],
        schema=["deal_id", "stage", "entered_at"],
        orient="row",
    )  # fmt: skip
    return {"deals": deals, "stage_history": history}


def forecast_ds() -> Dataset:
    return Dataset(frames=forecast_frames(), stages=STAGES, as_of=AS_OF)


def config(least: int = 2, factor: float = 0.5, **more: object) -> Config:
    return Config(
        quota={"quarter": 1000.0},
        quota_plan=QuotaPlan(owners={"ann": {"quarter": 500.0}, "bob": {"quarter": 500.0}}),
        forecast=ForecastSettings(min_closed_deals=least, aged_factor=factor),
        **more,  # type: ignore[arg-type]
    )


def test_forecast_weights_by_history_and_discounts_aged_deals() -> None:
    # Q2: won w2 250 + o1 300 x 0.5 + o2 600 x 0.5 x 0.5 (stuck) + o3 900 x 0.5 x 0.5
    # (overdue, moved to Q2) = 775; o4 closes in Q3. Quota 1,000.
    # With the CRM's 90%: 250 + 0.9 x 1,800 = 1,870; history without ageing: 1,150.
    got = evaluate(forecast_ds(), ["forecast_attainment"], config=config())
    assert one(got, "forecast_attainment") == pytest.approx(775 / 1000)


def test_a_window_ending_earlier_is_forecast_at_its_own_moment_whatever_ran_before() -> None:
    # The plans of a dataset share a cache: a forecast made at the as-of moment must not be
    # served to a window that ends earlier (a report computes both).
    early, settings = Grain(until=dt(2024, 4, 5)), config()
    alone = one(evaluate(forecast_ds(), ["forecast_attainment"], early, config=settings),
                "forecast_attainment")  # fmt: skip
    ds = forecast_ds()
    evaluate(ds, ["forecast_attainment"], config=settings)  # at the as-of moment first
    after = one(evaluate(ds, ["forecast_attainment"], early, config=settings),
                "forecast_attainment")  # fmt: skip
    assert after == alone


def test_a_window_ending_at_the_as_of_moment_keeps_the_overdue_deals_in_its_period() -> None:
    # The window's end is exclusive: o3 (overdue, moved to the moment) must still fall in it.
    # Q2 within the window: w2 250 won + o3 900 x 0.5 x 0.5 = 475 (o1, o2 and o4 are expected
    # after the window's end); without o3, 250. Q1 as in the quarters below.
    window = Grain(period="quarter", since=dt(2024, 1, 1), until=AS_OF)
    got = evaluate(forecast_ds(), ["forecast_attainment"], window, config=config())
    assert by_key(got["forecast_attainment"], "period") == pytest.approx(
        {dt(2024, 1, 1): 0.1, dt(2024, 4, 1): 0.475}
    )


def test_a_stage_with_too_few_closed_deals_falls_back_to_the_crm_probability() -> None:
    # Proposal has 4 closed deals, fewer than 5: the CRM's 0.9 stands in.
    # 250 + 0.9 x 300 + 0.9 x 600 x 0.5 + 0.9 x 900 x 0.5 = 250 + 270 + 270 + 405 = 1,195.
    got = evaluate(forecast_ds(), ["forecast_attainment"], config=config(least=5))
    assert one(got, "forecast_attainment") == pytest.approx(1195 / 1000)


def test_configured_stage_probability_comes_before_the_crm_one() -> None:
    stages = StagesConfig(probability={"Proposal": 0.4})
    # 250 + 0.4 x 300 + 0.4 x 600 x 0.5 + 0.4 x 900 x 0.5 = 250 + 120 + 120 + 180 = 670.
    got = evaluate(forecast_ds(), ["forecast_attainment"], config=config(least=5, stages=stages))
    assert one(got, "forecast_attainment") == pytest.approx(670 / 1000)


def test_aged_factor_one_turns_the_discount_off() -> None:
    got = evaluate(forecast_ds(), ["forecast_attainment"], config=config(factor=1.0))
    assert one(got, "forecast_attainment") == pytest.approx(1150 / 1000)


def test_forecast_attainment_per_owner_against_each_quota() -> None:
    # ann: 250 + 150 + 150 = 550 of 500. bob: o3 225 of 500 (o4 is Q3's).
    got = evaluate(forecast_ds(), ["forecast_attainment"], Grain(by=("owner",)), config=config())
    assert by_key(got["forecast_attainment"], "owner") == pytest.approx({"ann": 1.1, "bob": 0.45})


def test_by_quarter_the_open_deals_fall_in_their_expected_quarter() -> None:
    got = evaluate(forecast_ds(), ["forecast_attainment"], Grain(period="quarter"),
                   config=config())  # fmt: skip
    # Q1: w1 100 won, nothing open (o3's overdue close is moved out of Q1): 0.1.
    # Q2: 775. Q3: o4 1,200 x 0.5 = 600.
    assert by_key(got["forecast_attainment"], "period") == pytest.approx(
        {dt(2024, 1, 1): 0.1, dt(2024, 4, 1): 0.775, dt(2024, 7, 1): 0.6}
    )


def test_forecast_table_team_and_owners_for_this_and_the_next_quarter() -> None:
    table = evaluate_tables(forecast_ds(), ["forecast_quota"], config=config())["forecast_quota"]
    rows = {(r["quarter"], r["owner"]): r for r in table.iter_rows(named=True)}
    team = rows[("2024-Q2", "(team)")]
    assert (team["quota"], team["won"]) == (1000.0, 250.0)
    assert (team["open_deals"], team["overdue_deals"], team["aged_deals"]) == (3, 1, 2)
    assert team["weighted_open"] == pytest.approx(525.0)
    assert team["forecast"] == pytest.approx(775.0)
    assert team["crm_weighted_open"] == pytest.approx(0.9 * 1800)
    # 45 of Q2's 91 days (30 of April, 15 of May) are gone on May 16: 0.25 x 91 / 45.
    assert team["pacing"] == pytest.approx(0.25 * 91 / 45)
    assert rows[("2024-Q2", "ann")]["forecast_attainment"] == pytest.approx(1.1)
    assert rows[("2024-Q3", "bob")]["forecast"] == pytest.approx(600.0)
    assert rows[("2024-Q3", "(team)")]["open_deals"] == 1
    assert list(table["owner"][:1]) == ["(team)"]  # the team leads each period


def test_explain_gives_the_method_with_its_numbers() -> None:
    from crmkpi.metrics import Context

    lines = dict(forecast_account(Context(forecast_ds(), Grain(), config())))
    assert lines["won so far"] == "250"
    assert lines["forecast"] == "250 won + 525 weighted = 775"
    assert "Proposal: 50.0% from history (4 closed deals reached it)" in lines["probabilities"]
    assert lines["with the CRM's probabilities"] == "1,870"
    assert lines["ageing"].startswith("2 deals at x0.5 of their probability (1 overdue")


def test_forecast_categories_roll_up_to_commit_and_best_case() -> None:
    frames = forecast_frames()
    categories = [None, None, None, None, None, "Commit", "Best Case", "Pipeline", "commit"]
    frames["deals"] = frames["deals"].with_columns(qualification=pl.Series(categories))
    ds = Dataset(frames=frames, stages=STAGES, as_of=AS_OF)
    table = evaluate_tables(ds, ["forecast_quota"], config=config())["forecast_quota"]
    rows = {(r["quarter"], r["owner"]): r for r in table.iter_rows(named=True)}
    # Q2: won 250 + o1 300 in Commit = 550; + o2 600 in Best Case = 1,150 (o3 is Pipeline).
    assert (rows[("2024-Q2", "(team)")]["commit"], rows[("2024-Q2", "(team)")]["best_case"]) == (
        550.0,
        1150.0,
    )
    # Q3: o4 1,200 in commit.
    assert rows[("2024-Q3", "bob")]["commit"] == 1200.0


def test_a_qualification_column_of_other_labels_is_no_forecast_category() -> None:
    frames = forecast_frames()
    frames["deals"] = frames["deals"].with_columns(qualification=pl.lit("New Business"))
    ds = Dataset(frames=frames, stages=STAGES, as_of=AS_OF)
    table = evaluate_tables(ds, ["forecast_quota"], config=config())["forecast_quota"]
    assert "commit" not in table.columns
