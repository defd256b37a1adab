"""The currency conversion table: which rates were applied to which amounts (the conversion
itself is crmkpi.metrics.rates)."""

from __future__ import annotations

import polars as pl

from crmkpi.dataset import Dataset
from crmkpi.metrics.base import CURRENCY, Context, TableSpec
from crmkpi.metrics.rates import currency_code, in_base_currency

_AMOUNTS = (("deals", "amount"), ("spend", "amount"), ("subscriptions", "mrr"))


def _conversions(ctx: Context) -> pl.LazyFrame:
    """Per table and original currency: rows, amounts before and after, the rates applied."""
    parts = []
    base = ctx.base_currency
    for table, amount in _AMOUNTS:
        if not ctx.has(table, amount, CURRENCY):
            continue
        frame = ctx.table(table).with_columns(
            currency_code(str(base)).alias("__from"), pl.col(amount).alias("__orig")
        )
        converted = in_base_currency(ctx, frame, table, amount)
        rate = pl.col(amount) / pl.col("__orig")
        parts.append(
            converted.filter(pl.col("__orig").is_not_null())
            .group_by("__from")
            .agg(
                pl.len().alias("rows"),
                pl.col("__orig").sum().alias("amount"),
                pl.col(amount).sum().alias("amount_in_base"),
                rate.filter(pl.col("__orig") != 0).min().alias("rate_min"),
                rate.filter(pl.col("__orig") != 0).max().alias("rate_max"),
                pl.col(amount).is_null().sum().alias("rows_without_rate"),
            )
            .select(pl.lit(table).alias("table"), pl.col("__from").alias("currency"), pl.all())
            .drop("__from")
        )
    source = ctx.cache.get("rates_source", "")
    return (
        pl.concat(parts)
        .with_columns(pl.lit(f"{source}; base {base}").alias("rates"))
        .sort("table", "currency")
    )


def _requires_base(ds: Dataset, config: object | None) -> str | None:
    if getattr(config, "base_currency", None) is None:
        return "no [currency] base configured (amounts stay per currency)"
    if not any(ds.has(table, amount, CURRENCY) for table, amount in _AMOUNTS):
        return "no table has a currency column"
    return None


TABLES = [
    TableSpec(
        "currency_conversion",
        "Currency conversion",
        (),
        _conversions,
        doc="Which conversion was applied: per table and original currency, the rows, the "
        "amounts before and after conversion to the base currency, the lowest and highest rate "
        "used, and the rows left out because no rate is known for their currency.",
        units={"rows": "count", "amount": "currency", "amount_in_base": "currency",
               "rate_min": "ratio", "rate_max": "ratio", "rows_without_rate": "count"},
        requires=_requires_base,
        listed_when_missing=False,
        reference="European Central Bank euro reference rates (or the configured rates file)",
    )
]  # fmt: skip
