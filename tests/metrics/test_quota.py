"""Quota attainment and pacing: which quota applies, over which period, against what won."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from metric_frames import STAGES, by_key, dt, one

from crmkpi.config import Config, QuotaPlan
from crmkpi.dataset import Dataset
from crmkpi.errors import UsageError
from crmkpi.metrics import Grain, evaluate
from crmkpi.metrics.quota import months_between, period_holding, quota_book


def quarter_deals() -> pl.DataFrame:
    """Won deals around Q3 2024 (Jul 1 - Oct 1, 92 days), and one lost and one open."""
    return pl.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e", "f"],
            "owner": ["ann", "ann", "bob", "bob", "bob", "ann"],
            "status": ["won", "won", "won", "won", "lost", "open"],
            "amount": [300.0, 100.0, 200.0, 999.0, 500.0, 700.0],
            "created_at": [dt(2024, 6, 1)] * 6,
            # d was won in Q2: it counts for Q2, not for Q3.
            "closed_at": [dt(2024, 7, 10), dt(2024, 8, 20), dt(2024, 8, 1), dt(2024, 6, 30),
                          dt(2024, 8, 2), None],
        }
    )  # fmt: skip


def quota_ds(as_of: object = dt(2024, 8, 16)) -> Dataset:
    return Dataset(frames={"deals": quarter_deals()}, stages=STAGES, as_of=as_of)


def config(**plan: object) -> Config:
    team = plan.pop("team", {})
    return Config(quota=dict(team), quota_plan=QuotaPlan(**plan))  # type: ignore[arg-type]


def test_attainment_counts_revenue_won_in_the_quota_period_holding_as_of() -> None:
    # As of Aug 16 the quota period is Q3 2024. Won in Q3 up to then: a 300 + c 200 = 500
    # (b is won Aug 20, after the as-of moment; d in June). Quarter quota 2,000: 25%.
    # The tempting wrong rule, all revenue in the data over the quota: 1,599 / 2,000.
    got = evaluate(quota_ds(), ["quota_attainment"], config=config(team={"quarter": 2000}))
    assert one(got, "quota_attainment") == pytest.approx(500 / 2000)


def test_pacing_divides_attainment_by_the_share_of_the_period_gone() -> None:
    # Q3: Jul 1 to Oct 1 is 92 days; Aug 16 00:00 is 46 days in: half gone.
    # 25% attained at half time paces at 50% (not 25%, the attainment itself).
    got = evaluate(quota_ds(), ["quota_pacing"], config=config(team={"quarter": 2000}))
    assert one(got, "quota_pacing") == pytest.approx((500 / 2000) / (46 / 92))


def test_a_month_quota_is_three_times_in_a_quarter_and_a_year_quota_a_quarter() -> None:
    for team in ({"month": 2000 / 3}, {"year": 8000}):
        got = evaluate(quota_ds(), ["quota_attainment"], config=config(team=team))
        assert one(got, "quota_attainment") == pytest.approx(500 / 2000), team


def test_per_owner_quota_and_the_team_as_the_sum_of_owners(tmp_path: Path) -> None:
    sheet = tmp_path / "quotas.csv"
    sheet.write_text("Owner,Period,Amount\nann,2024-Q3,1000\nbob,2024-07,100\nbob,2024-08,100\n"
                     "bob,2024-09,\"1,200\"\n", encoding="utf-8")  # fmt: skip
    plan = config(file=str(sheet))
    got = evaluate(quota_ds(), ["quota_attainment"], Grain(by=("owner",)), config=plan)
    # ann: a 300 / 1,000. bob: c 200 / (100 + 100 + 1,200) months of the quarter added up.
    assert by_key(got["quota_attainment"], "owner") == pytest.approx(
        {"ann": 0.3, "bob": 200 / 1400}
    )
    team = evaluate(quota_ds(), ["quota_attainment"], config=plan)
    # No team quota is set: the owners' quotas add up to 2,400 for the team.
    assert one(team, "quota_attainment") == pytest.approx(500 / 2400)


def test_config_owner_quota_beside_a_sheet_that_does_not_cover_the_period(
    tmp_path: Path,
) -> None:
    sheet = tmp_path / "quotas.csv"
    sheet.write_text("owner,period,amount\nann,2024-07,50\n", encoding="utf-8")
    # The sheet covers one month of ann's Q3 only: her [quota.owners] quarter amount applies.
    plan = config(file=str(sheet), owners={"ann": {"quarter": 600}})
    got = evaluate(quota_ds(), ["quota_attainment"], Grain(by=("owner",)), config=plan)
    values = by_key(got["quota_attainment"], "owner")
    assert values["ann"] == pytest.approx(300 / 600)
    assert values["bob"] is None  # no quota for bob: unknown, not 0 and not the team's


def test_no_quota_for_the_period_is_said_with_its_name(tmp_path: Path) -> None:
    sheet = tmp_path / "quotas.csv"
    sheet.write_text("owner,period,amount\n,2024-Q2,1000\n", encoding="utf-8")
    skipped: dict[str, str] = {}
    evaluate(quota_ds(), ["quota_attainment"], config=config(file=str(sheet)), skipped=skipped)
    assert skipped == {"quota_attainment": "no quota for 2024-Q3"}


def test_by_quarter_each_period_against_its_own_quota() -> None:
    grain = Grain(period="quarter")
    got = evaluate(quota_ds(dt(2024, 10, 1)), ["quota_attainment", "quota_pacing"], grain,
                   config=config(team={"quarter": 1000}))  # fmt: skip
    att = by_key(got["quota_attainment"], "period")
    # Q2: d 999. Q3: a 300 + b 100 + c 200 = 600. Q3 is over at the as-of moment: it paces
    # at its attainment.
    assert att == pytest.approx({dt(2024, 4, 1): 0.999, dt(2024, 7, 1): 0.6})
    assert by_key(got["quota_pacing"], "period") == pytest.approx(att)


def test_window_end_sets_the_quota_period() -> None:
    # --until Oct 1 (exclusive): the period holding the last moment before it is Q3, whole.
    got = evaluate(quota_ds(), ["quota_attainment"], Grain(until=dt(2024, 10, 1)),
                   config=config(team={"quarter": 1000}))  # fmt: skip
    assert one(got, "quota_attainment") == pytest.approx(0.6)


def test_quota_cannot_split_by_another_column() -> None:
    with pytest.raises(UsageError, match="not by status"):
        evaluate(quota_ds(), ["quota_attainment"], Grain(by=("status",)),
                 config=config(team={"quarter": 1000}))  # fmt: skip


def test_without_any_quota_the_kpis_say_so() -> None:
    skipped: dict[str, str] = {}
    evaluate(quota_ds(), ["quota_attainment", "quota_pacing"], config=Config(), skipped=skipped)
    assert set(skipped) == {"quota_attainment", "quota_pacing"}
    assert all("no quota configured" in why for why in skipped.values())


def test_months_between_counts_part_months_by_days() -> None:
    assert months_between(dt(2024, 7, 1), dt(2024, 10, 1)) == pytest.approx(3.0)
    # Feb 2024 has 29 days: Feb 15 -> Mar 1 is 15/29 of a month.
    assert months_between(dt(2024, 2, 15), dt(2024, 3, 1)) == pytest.approx(15 / 29)


@pytest.mark.parametrize(
    ("moment", "kind", "fiscal", "start"),
    [
        (dt(2024, 8, 16), "quarter", 1, dt(2024, 7, 1)),
        (dt(2024, 8, 16), "quarter", 2, dt(2024, 8, 1)),  # fiscal quarters Feb, May, Aug, Nov
        (dt(2024, 3, 31), "year", 4, dt(2023, 4, 1)),  # fiscal year from April
        (dt(2024, 3, 31), "month", 1, dt(2024, 3, 1)),
    ],
)
def test_period_holding(moment, kind, fiscal, start) -> None:  # noqa: ANN001
    assert period_holding(moment, kind, fiscal) == start


def test_quota_sheet_is_read_once_per_config(tmp_path: Path) -> None:
    sheet = tmp_path / "quotas.csv"
    sheet.write_text("owner,period,amount\nann,2024-Q3,1000\n", encoding="utf-8")
    plan = config(file=str(sheet))
    first = quota_book(plan)
    sheet.write_text("owner,period,amount\nann,2024-Q3,5\n", encoding="utf-8")
    assert quota_book(plan) is first
    assert quota_book(replace(plan)).sheet[0].amount == 5.0


def test_revenue_in_several_currencies_is_not_added_against_one_quota() -> None:
    deals = quarter_deals().with_columns(currency=pl.Series(["EUR", "USD"] * 3))
    ds = Dataset(frames={"deals": deals}, stages=STAGES, as_of=dt(2024, 8, 16))
    skipped: dict[str, str] = {}
    evaluate(ds, ["quota_attainment"], config=config(team={"quarter": 10}), skipped=skipped)
    assert skipped["quota_attainment"].startswith("deals are in several currencies")


def test_a_team_of_owners_against_its_own_quota() -> None:
    deals = quarter_deals().with_columns(team=pl.Series(["A", "A", "B", "B", "B", "A"]))
    ds = Dataset(frames={"deals": deals}, stages=STAGES, as_of=dt(2024, 8, 16))
    plan = config(teams={"A": {"year": 4000}})
    got = evaluate(ds, ["quota_attainment"], Grain(by=("team",)), config=plan)
    # Team A won a 300 in Q3 up to Aug 16, against a quarter of its 4,000 a year; B has none.
    assert by_key(got["quota_attainment"], "team") == pytest.approx({"A": 0.3, "B": None})
