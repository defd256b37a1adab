"""Which spend is marketing and which is sales: marketing spend buys leads (and is what a
source's cost per lead and marketing CAC divide), sales spend pays people and tools selling one
to one (fully loaded CAC only)."""

from __future__ import annotations

import polars as pl

from crmkpi.metrics.base import Context

# Words in a channel's name that make its spend sales spend (people and tools selling one to one)
# when neither the config nor a category column says which it is.
SALES_WORDS = ("sales", "outbound", "sdr", "bdr", "salar", "commission", "account exec", "payroll")


def spend_category(ctx: Context) -> pl.Expr:
    """ "marketing" or "sales" per spend row: the channel as listed in [economics]
    sales_channels / marketing_channels, else the row's own category, else "sales" when the
    channel's name says so (Outbound, Sales team, SDR...), else "marketing"."""
    source = ctx.column("spend", "source").cast(pl.String)
    configured = ctx.config.spend_channels if ctx.config else {}
    by_config = source.replace_strict(configured, default=None, return_dtype=pl.String)
    own = ctx.column("spend", "category").cast(pl.String).str.strip_chars().str.to_lowercase()
    own = pl.when(own.is_in(["marketing", "sales"])).then(own)
    named = source.str.to_lowercase().str.contains_any(list(SALES_WORDS))
    by_name = pl.when(named.fill_null(False)).then(pl.lit("sales")).otherwise(pl.lit("marketing"))
    return pl.coalesce(by_config, own, by_name)
