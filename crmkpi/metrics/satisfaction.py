"""Net Promoter Score: promoters, passives, detractors and the score itself.

Scores are 0..10. When no answer in the data is below 1 and some answer is 10 the survey may use
a 1..10 scale; the standard bands are kept as they are (9-10 promoters, 7-8 passives, 1-6
detractors), which is what Bain's definition gives for such a survey. Scores outside 0..10 are
left out (the importer flags them).
"""

from __future__ import annotations

import polars as pl

from crmkpi.metrics.base import Metric, aggregate, needs
from crmkpi.metrics.kinds import count, ratio

SCORE = pl.col("score")
VALID = SCORE.is_between(0, 10)
PROMOTER = SCORE >= 9
DETRACTOR = SCORE <= 6
PASSIVE = SCORE.is_between(7, 8)
REFERENCE = "Reichheld, The One Number You Need to Grow, HBR 2003; Bain & Company NPS"


def _count(expr: pl.Expr) -> pl.Expr:
    # Boolean sums are unsigned: cast so that promoters - detractors can go below zero.
    return (expr & VALID).sum().cast(pl.Int64)


ANSWERS = count("answers scored 0..10", VALID)
NPS = ratio(
    count("100 x (promoters (9-10) - detractors (0-6))", VALID & (PROMOTER | DETRACTOR),
          value=(_count(PROMOTER) - _count(DETRACTOR)) * 100.0),
    ANSWERS,
)  # fmt: skip

# fmt: off
METRICS = [
    Metric(
        id="nps", label="Net Promoter Score", unit="score", direction="higher",
        needs=needs(("nps", ["score"])),
        compute=aggregate("nps", "answered_at", NPS), scope="from -100 to 100",
        period_date="answered_at",
        notes=__doc__.split("\n\n", 1)[1].replace("\n", " ").strip(), reference=REFERENCE,
        null_reason="no answer in the period",
    ),
    Metric(
        id="nps_responses", label="NPS answers", unit="count", direction="higher",
        needs=needs(("nps", ["score"])),
        compute=aggregate("nps", "answered_at", ANSWERS), period_date="answered_at", additive=True,
        reference="Bain & Company, Net Promoter System: the answers behind the score",
    ),
    Metric(
        id="promoters", label="Promoters", unit="count", direction="higher",
        needs=needs(("nps", ["score"])),
        compute=aggregate("nps", "answered_at", count("answers scored 9 or 10", PROMOTER & VALID,
                                                      value=_count(PROMOTER))),
        period_date="answered_at",
        additive=True, reference=REFERENCE,
    ),
    Metric(
        id="passives", label="Passives", unit="count", direction="neutral",
        needs=needs(("nps", ["score"])),
        compute=aggregate("nps", "answered_at", count("answers scored 7 or 8", PASSIVE & VALID,
                                                      value=_count(PASSIVE))),
        period_date="answered_at",
        additive=True, reference=REFERENCE,
    ),
    Metric(
        id="detractors", label="Detractors", unit="count", direction="lower",
        needs=needs(("nps", ["score"])),
        compute=aggregate("nps", "answered_at", count("answers scored 0 to 6", DETRACTOR & VALID,
                                                      value=_count(DETRACTOR))),
        period_date="answered_at",
        additive=True, reference=REFERENCE,
    ),
]
# fmt: on
