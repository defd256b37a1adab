"""crmkpi.metric / crmkpi.table: breakdowns, periods, windows and --where filters, checked
against plain Python over the same rows (api_deals.DEAL_ROWS)."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest
from api_deals import DEAL_ROWS
from hypothesis import given, settings
from hypothesis import strategies as st

import crmkpi
from crmkpi.dataset import Dataset
from crmkpi.errors import UsageError
from crmkpi.metrics.scope import filtered
from crmkpi.schema import TIMESTAMP

APRIL = datetime(2025, 4, 1)


def quarter_start(moment: datetime) -> datetime:
    return datetime(moment.year, 3 * ((moment.month - 1) // 3) + 1, 1)


def win_rates_by_hand(rows: list[dict], key) -> dict:  # noqa: ANN001
    """won / (won + lost) over closed deals with a close date, grouped by `key(row)`."""
    won: dict = {}
    closed: dict = {}
    for r in rows:
        if r["status"] in ("won", "lost") and r["closed_at"] is not None:
            k = key(r)
            closed[k] = closed.get(k, 0) + 1
            won[k] = won.get(k, 0) + (r["status"] == "won")
    return {k: won[k] / closed[k] for k in closed}


def test_win_rate_by_owner_and_quarter(ds: Dataset) -> None:
    out = crmkpi.metric(ds, "win_rate", by="owner", period="quarter")
    assert out.columns == ["owner", "period", "win_rate"]
    expected = win_rates_by_hand(DEAL_ROWS, lambda r: (r["owner"], quarter_start(r["closed_at"])))
    # By hand: Ana Q1 = D1 won / (D1, D2) = 0.5; Bo Q2 = D4 won / (D4, D5) = 0.5.
    assert expected[("Ana", datetime(2025, 1, 1))] == 0.5
    assert expected[("Bo", datetime(2025, 4, 1))] == 0.5
    got = {(r["owner"], r["period"]): r["win_rate"] for r in out.iter_rows(named=True)}
    assert {k: v for k, v in got.items() if v is not None} == expected
    # Periods with no closed deal of that owner are present but empty, never 0.
    assert all(k not in expected for k, v in got.items() if v is None)


def test_several_kpis_side_by_side(ds: Dataset) -> None:
    out = crmkpi.metric(ds, ["win_rate", "deals_won", "revenue_won"], by=["owner"])
    assert out.columns == ["owner", "win_rate", "deals_won", "revenue_won"]
    rows = {r["owner"]: r for r in out.iter_rows(named=True)}
    rates = win_rates_by_hand(DEAL_ROWS, lambda r: r["owner"])
    for owner, rate in rates.items():
        won = [r for r in DEAL_ROWS if r["owner"] == owner and r["status"] == "won"]
        assert rows[owner]["win_rate"] == pytest.approx(rate)
        assert rows[owner]["deals_won"] == len(won)
        assert rows[owner]["revenue_won"] == pytest.approx(
            sum(r["amount"] for r in won if r["amount"] is not None)
        )
    # By hand: Ana won D1 12000 + D3 3000.
    assert rows["Ana"]["revenue_won"] == 15000


def test_window_is_since_inclusive_until_exclusive(ds: Dataset) -> None:
    out = crmkpi.metric(ds, "win_rate", since="2025-04-01", until="2025-07-01")
    # Closed in Q2: D3, D4, D8, D10 won and D5 lost (D9 closed on 2025-07-01: outside) -> 4/5.
    assert out["win_rate"].to_list() == [pytest.approx(0.8)]


@pytest.mark.parametrize(
    ("where", "keep"),
    [
        ('source = "Referral"', lambda r: r["source"] == "Referral"),
        ("amount >= 5000", lambda r: r["amount"] is not None and r["amount"] >= 5000),
        ('owner in ("Ana", "Cy")', lambda r: r["owner"] in ("Ana", "Cy")),
        ('not (source = "Web") or owner is null', lambda r: r["source"] != "Web" or not r["owner"]),
        ('closed_at < "2025-04-01"', lambda r: (r["closed_at"] or APRIL) < APRIL),
    ],
)  # fmt: skip
def test_where_filters_the_kpi_table(ds: Dataset, where: str, keep) -> None:  # noqa: ANN001
    rows = [r for r in DEAL_ROWS if keep(r)]
    expected = win_rates_by_hand(rows, lambda r: "all")["all"]
    out = crmkpi.metric(ds, "win_rate", where=where)
    assert out["win_rate"].to_list() == [pytest.approx(expected)]


def test_where_reaches_other_tables_only_when_they_have_the_columns(ds: Dataset) -> None:
    by_source = filtered(ds, 'source = "Web"', ["deals"])
    assert by_source.frames["deals"].height == sum(r["source"] == "Web" for r in DEAL_ROWS)
    assert by_source.frames["leads"]["id"].to_list() == ["L1", "L3"]  # leads have `source`
    by_amount = filtered(ds, "amount > 4000", ["deals"])
    assert by_amount.frames["leads"].height == 3  # leads have no `amount`: untouched
    with pytest.raises(UsageError, match="deals has no column 'region'"):
        filtered(ds, 'region = "EU"', ["deals"])


def test_unknown_ids_suggest_the_nearest(ds: Dataset) -> None:
    with pytest.raises(UsageError, match="unknown KPI or table id 'win_rat'.*win_rate"):
        crmkpi.metric(ds, "win_rat")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"period": "fortnight"}, "unknown period 'fortnight'"),
        ({"since": "2025-05-01", "until": "2025-04-01"}, "is not before until"),
        ({"since": "May 1st"}, "since 'May 1st' is not a date"),
        ({"by": "region"}, "region"),
        ({"where": "amount >"}, "position 9"),
    ],
)
def test_bad_options_are_usage_errors(ds: Dataset, kwargs: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        crmkpi.metric(ds, "win_rate", **kwargs)


def test_a_kpi_whose_table_is_absent_says_why() -> None:
    only_leads = Dataset(frames={"leads": pl.DataFrame({"id": ["L1"]})})
    with pytest.raises(crmkpi.CrmkpiError, match="win_rate.*no deals table"):
        crmkpi.metric(only_leads, "win_rate")


def test_dataset_tables_are_lazy_frames(ds: Dataset) -> None:
    assert isinstance(ds.deals, pl.LazyFrame)
    assert ds.deals.select(pl.len()).collect().item() == len(DEAL_ROWS)


def test_money_kpis_keep_currencies_apart_and_keys_come_first(ds: Dataset) -> None:
    deals = ds.frames["deals"].with_columns(
        pl.when(pl.col("id").is_in(["D1", "D4"])).then(pl.lit("USD")).otherwise(pl.lit("EUR"))
        .alias("currency")
    )  # fmt: skip
    out = crmkpi.metric(Dataset(frames={"deals": deals}), ["win_rate", "revenue_won"], by="owner")
    assert out.columns == ["owner", "currency", "win_rate", "revenue_won"]
    revenue = {(r["owner"], r["currency"]): r["revenue_won"] for r in out.iter_rows(named=True)}
    # By hand: Ana won D1 12000 USD and D3 3000 EUR; Bo won D4 20000 USD.
    assert revenue[("Ana", "USD")] == 12000
    assert revenue[("Ana", "EUR")] == 3000
    assert revenue[("Bo", "USD")] == 20000


def test_a_table_without_breakdowns_refuses_by(ds: Dataset) -> None:
    with pytest.raises(UsageError, match="takes no --by") as refused:
        crmkpi.table(ds, "sources", by="owner")
    assert "lost_reasons" in str(refused.value.hint)  # the hint names tables that take it


DEAL_STRATEGY = st.lists(
    st.tuples(
        st.sampled_from(["Ana", "Bo", None]),
        st.sampled_from(["won", "lost", "open"]),
        st.one_of(st.none(), st.integers(0, 364)),  # close day of 2025, or none
        st.sampled_from(["Web", "Referral"]),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(DEAL_STRATEGY, st.sampled_from([None, 'source = "Web"', 'owner != "Bo"']))
def test_win_rate_by_owner_and_month_agrees_with_python_and_sql(deals, where) -> None:  # noqa: ANN001
    start = datetime(2025, 1, 1)
    rows = [
        {"id": f"D{i}", "owner": owner, "status": status, "source": source,
         "created_at": start, "closed_at": None if day is None else start + timedelta(days=day)}
        for i, (owner, status, day, source) in enumerate(deals)
    ]  # fmt: skip
    frame = pl.DataFrame(rows, schema={"id": pl.String, "owner": pl.String, "status": pl.String,
                                       "source": pl.String, "created_at": TIMESTAMP,
                                       "closed_at": TIMESTAMP})  # fmt: skip
    ds = Dataset(frames={"deals": frame})
    keep = {
        None: lambda r: True,
        'source = "Web"': lambda r: r["source"] == "Web",
        'owner != "Bo"': lambda r: r["owner"] is not None and r["owner"] != "Bo",
    }[where]
    month = lambda r: datetime(r["closed_at"].year, r["closed_at"].month, 1)  # noqa: E731
    kept = [r for r in rows if keep(r)]
    if not kept:
        with pytest.raises(UsageError, match="no deals row matches --where"):
            crmkpi.metric(ds, "win_rate", by="owner", period="month", where=where)
        return
    expected = win_rates_by_hand(kept, lambda r: (r["owner"], month(r)))
    out = crmkpi.metric(ds, "win_rate", by="owner", period="month", where=where)
    got = {(r["owner"], r["period"]): r["win_rate"] for r in out.iter_rows(named=True)}
    assert {k: v for k, v in got.items() if v is not None} == expected
    sql = (
        "SELECT owner, date_trunc('month', closed_at) AS m, "
        "CAST(SUM(CASE WHEN status = 'won' THEN 1 ELSE 0 END) AS DOUBLE) / COUNT(*) AS r "
        "FROM deals WHERE status IN ('won', 'lost') AND closed_at IS NOT NULL"
        + {None: "", 'source = "Web"': " AND source = 'Web'",
           'owner != "Bo"': " AND owner <> 'Bo'"}[where]
        + " GROUP BY owner, m"
    )  # fmt: skip
    by_sql = {(r[0], r[1]): r[2] for r in crmkpi.query(ds, sql).rows()}
    assert by_sql == expected
