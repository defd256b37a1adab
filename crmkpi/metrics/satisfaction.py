"""Net Promoter Score: promoters, passives, detractors and the score itself.

Scores are 0..10. When no answer in the data is below 1 and some answer is 10 the survey may use
a 1..10 scale; the standard bands are kept as they are (9-10 promoters, 7-8 passives, 1-6
detractors), which is what Bain's definition gives for such a survey. Scores outside 0..10 are
left out (the importer flags them).
"""

from __future__ import annotations

import polars as pl

from crmkpi.metrics.base import Metric, aggregate, needs, safe_div

SCORE = pl.col("score")
VALID = SCORE.is_between(0, 10)
PROMOTER = SCORE >= 9
DETRACTOR = SCORE <= 6
PASSIVE = SCORE.is_between(7, 8)
REFERENCE = "Reichheld, The One Number You Need to Grow, HBR 2003; Bain & Company NPS"


def _count(expr: pl.Expr) -> pl.Expr:
    # Boolean sums are unsigned: cast so that promoters - detractors can go below zero.
    return (expr & VALID).sum().cast(pl.Int64)


NPS_VALUE = safe_div((_count(PROMOTER) - _count(DETRACTOR)) * 100.0, VALID.sum())

# fmt: off
METRICS = [
    Metric(
        "nps", "Net Promoter Score", "score", "higher",
        needs(("nps", ["score"])),
        "% promoters (9-10) - % detractors (0-6) of answers, -100..100",
        aggregate("nps", "answered_at", NPS_VALUE), period_date="answered_at",
        notes=__doc__.split("\n\n", 1)[1].replace("\n", " ").strip(), reference=REFERENCE,
        null_reason="no answer in the period",
    ),
    Metric(
        "nps_responses", "NPS answers", "count", "higher",
        needs(("nps", ["score"])), "count of answers scored 0..10",
        aggregate("nps", "answered_at", VALID.sum()), period_date="answered_at", additive=True,
        reference="Bain & Company, Net Promoter System: the answers behind the score",
    ),
    Metric(
        "promoters", "Promoters", "count", "higher",
        needs(("nps", ["score"])), "count of answers scored 9 or 10",
        aggregate("nps", "answered_at", _count(PROMOTER)), period_date="answered_at",
        additive=True, reference=REFERENCE,
    ),
    Metric(
        "passives", "Passives", "count", "neutral",
        needs(("nps", ["score"])), "count of answers scored 7 or 8",
        aggregate("nps", "answered_at", _count(PASSIVE)), period_date="answered_at",
        additive=True, reference=REFERENCE,
    ),
    Metric(
        "detractors", "Detractors", "count", "lower",
        needs(("nps", ["score"])), "count of answers scored 0 to 6",
        aggregate("nps", "answered_at", _count(DETRACTOR)), period_date="answered_at",
        additive=True, reference=REFERENCE,
    ),
]
# fmt: on
