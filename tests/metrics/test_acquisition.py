"""New customers, cost per lead and CAC as the field defines them, on cases that separate the
right definition from the tempting one; expected values worked out by hand in the comments."""

from __future__ import annotations

import polars as pl
import pytest
from metric_frames import dt, one

from crmkpi.config import Config
from crmkpi.dataset import Dataset
from crmkpi.metrics import Grain, evaluate, evaluate_tables


def won_deals() -> pl.DataFrame:
    """c1 wins twice on its first day (a tie) and again in March (an upsell); c2 wins in
    February; c3 was billed since 2023 (a customer before the CRM export) and wins an upsell
    in January; one won deal names no customer; a lost deal of c4 makes no customer."""
    return pl.DataFrame(
        {
            "id": ["d1", "d2", "d3", "d4", "d5", "d6", "d7"],
            "status": ["won", "won", "won", "won", "won", "won", "lost"],
            "customer_id": ["c1", "c1", "c1", "c2", "c3", None, "c4"],
            "amount": [100.0] * 7,
            "created_at": [dt(2024, 1, 1)] * 7,
            "closed_at": [dt(2024, 1, 10, 9), dt(2024, 1, 10, 9), dt(2024, 3, 5),
                          dt(2024, 2, 7), dt(2024, 1, 20), dt(2024, 2, 1), dt(2024, 2, 2)],
        }
    )  # fmt: skip


def subscriptions() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3"],
            "start_at": [dt(2024, 1, 10), dt(2024, 2, 12), dt(2023, 5, 1)],
            "mrr": [10.0, 20.0, 30.0],
        }
    )


def test_new_customers_are_distinct_customers_at_their_first_win() -> None:
    ds = Dataset(frames={"deals": won_deals(), "subscriptions": subscriptions()})
    # Counting won deals that are a customer's first win would give 5 (d1, d2 tie on c1's
    # first day; d4; d5, c3's first win in the export; d6). Distinct customers whose first won
    # deal is theirs: c1 (Jan), c2 (Feb), the unnamed customer of d6 (Feb) = 3; c3 was billed
    # on 2023-05-01, before any won deal: an upsell, not a new customer.
    assert one(evaluate(ds, ["new_customers"]), "new_customers") == 3
    quarter = Grain(period="month", since=dt(2024, 1, 1), until=dt(2024, 4, 1))
    monthly = evaluate(ds, ["new_customers"], quarter)["new_customers"]
    # Jan: c1 = 1; Feb: c2, d6 = 2; Mar: c1's upsell = 0.
    assert monthly["value"].to_list() == [1, 2, 0]


def test_new_customers_without_subscriptions_count_first_wins() -> None:
    ds = Dataset(frames={"deals": won_deals()})
    # Without billing data c3's first win in January is all there is: c1, c3 (Jan), c2, d6.
    assert one(evaluate(ds, ["new_customers"]), "new_customers") == 4
    window = Grain(since=dt(2024, 3, 1), until=dt(2024, 4, 1))
    # March holds only c1's upsell: no new customer, although a deal was won.
    assert one(evaluate(ds, ["new_customers"], window), "new_customers") == 0


def test_mrr_movements_count_new_customers_as_the_kpi_does() -> None:
    ds = Dataset(frames={"deals": won_deals(), "subscriptions": subscriptions()})
    grain = Grain(period="month", since=dt(2024, 1, 1), until=dt(2024, 3, 1))
    moves = evaluate_tables(ds, ["mrr_movements"], grain)["mrr_movements"]
    kpi = evaluate(Dataset(frames={"deals": won_deals().filter(pl.col("id") != "d6"),
                                  "subscriptions": subscriptions()}),
                   ["new_customers"], grain)["new_customers"]  # fmt: skip
    # c2 signed on Feb 7 and is billed from Feb 12: new in February in both tables. c1 is new
    # in January in both; the unnamed d6 has no subscription and no place in the movements.
    assert moves["new_customers"].to_list() == [1, 1]
    assert kpi["value"].to_list() == [1, 1]


def spend() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "date": [dt(2024, 1, 1)] * 4,
            "source": ["Paid Search", "Events", "Outbound", "Sales team"],
            "amount": [300.0, 100.0, 500.0, 1000.0],
        }
    )


def leads() -> pl.DataFrame:
    return pl.DataFrame({"id": ["l1", "l2", "l3", "l4"], "created_at": [dt(2024, 1, 5)] * 4})


def test_cost_per_lead_and_cac_use_marketing_spend() -> None:
    deals = won_deals().filter(pl.col("closed_at") < dt(2024, 2, 1))
    ds = Dataset(frames={"spend": spend(), "leads": leads(), "deals": deals})
    ids = ["spend_total", "spend_marketing", "cost_per_lead", "cac", "cac_fully_loaded"]
    got = evaluate(ds, ids)
    # Outbound and Sales team are sales spend by their names: marketing = 300 + 100 = 400.
    assert one(got, "spend_total") == 1900.0
    assert one(got, "spend_marketing") == 400.0
    # 400 / 4 leads = 100 (all spend would say 1900 / 4 = 475, above any channel's own cost).
    assert one(got, "cost_per_lead") == 100.0
    # January's new customers: c1 (first win Jan 10) and c3 (no billing data here) = 2.
    assert one(got, "cac") == 200.0  # 400 / 2
    assert one(got, "cac_fully_loaded") == 950.0  # 1900 / 2


def test_spend_category_column_and_config_decide_before_names() -> None:
    frame = spend().with_columns(
        pl.Series("category", ["marketing", "marketing", "marketing", "sales"])
    )
    ds = Dataset(frames={"spend": frame, "leads": leads()})
    # The file calls Outbound marketing: 300 + 100 + 500 = 900; 900 / 4 leads = 225.
    assert one(evaluate(ds, ["cost_per_lead"]), "cost_per_lead") == 225.0
    # The config lists Events as sales: 300 + 500 = 800 -> 200 per lead.
    config = Config(spend_channels={"Events": "sales"})
    assert one(evaluate(ds, ["cost_per_lead"], config=config), "cost_per_lead") == 200.0


def test_config_lists_spend_channels(tmp_path) -> None:
    from crmkpi.config import load_config
    from crmkpi.errors import ConfigError

    path = tmp_path / "crmkpi.toml"
    path.write_text('[economics]\nsales_channels = ["Outbound"]\nmarketing_channels = ["Events"]\n')
    assert load_config(path).spend_channels == {"Outbound": "sales", "Events": "marketing"}
    path.write_text('[economics]\nsales_channels = ["Events"]\nmarketing_channels = ["Events"]\n')
    with pytest.raises(ConfigError, match="both sales and marketing"):
        load_config(path)


def test_sources_cac_divides_by_the_channel_new_customers() -> None:
    deals = won_deals().with_columns(pl.lit("Paid Search").alias("source"))
    leads_ = leads().with_columns(pl.lit("Paid Search").alias("source"))
    ds = Dataset(frames={"deals": deals, "leads": leads_, "spend": spend()})
    row = evaluate_tables(ds, ["sources"])["sources"].filter(pl.col("source") == "Paid Search")
    # Paid Search: 6 deals won, by 4 new customers (c1, c2, c3, the unnamed one); spend 300.
    assert row["deals_won"].item() == 6 and row["new_customers"].item() == 4
    assert row["cac"].item() == 75.0  # 300 / 4, not 300 / 6
