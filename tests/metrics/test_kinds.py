"""crmkpi.metrics.kinds: each kind's declared parts give the metric's value, on frames whose
values are worked out by hand (deals of metric_frames.py: a won 100 in 10 d, b lost 50, c open
30, d won 200 in 30 d, e won 60 created at noon and closed the next date (a date-only close: 1 d),
f open without amount)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from metric_frames import deals_ds, deals_frame, one

import crmkpi
from crmkpi.dataset import Dataset
from crmkpi.metrics import CATALOG, Context, Grain, evaluate
from crmkpi.metrics.base import Aggregate, Metric, aggregate, needs
from crmkpi.metrics.kinds import Kind, Measure, Ratio, count, quantile_of, ratio
from crmkpi.schema import TIMESTAMP

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


def part_values(metric: Metric, frame: pl.DataFrame) -> dict[str, float | None]:
    """Each declared part evaluated on its own over `frame`."""
    return {name: frame.select(m.expr()).item() for name, m in metric.measures()}


@pytest.mark.parametrize(
    ("kpi", "kind", "expected", "wrong"),
    [
        ("deals_won", Kind.COUNT, 3, 6),  # a, d, e; not every deal
        ("revenue_won", Kind.SUM, 360.0, 440.0),  # 100 + 200 + 60; not every amount
        ("avg_deal_size", Kind.MEAN, 120.0, 88.0),  # 360 / 3; not 440 / 5
        ("median_deal_size", Kind.MEDIAN, 100.0, 120.0),  # middle of 60, 100, 200; not the mean
        ("sales_cycle_days_median", Kind.MEDIAN, 10.0, 41 / 3),  # of 1, 10, 30 days
    ],
)
def test_one_measure_gives_the_metric(kpi: str, kind: Kind, expected: float, wrong: float) -> None:
    metric = CATALOG[kpi]
    assert metric.kind == kind
    (part,) = part_values(metric, deals_frame()).values()
    value = one(evaluate(deals_ds(), [kpi]), kpi)
    assert part == pytest.approx(expected) and value == pytest.approx(expected)
    assert value != pytest.approx(wrong)


def test_a_ratio_is_its_numerator_over_its_denominator() -> None:
    metric = CATALOG["win_rate"]
    assert metric.kind == Kind.RATIO and isinstance(metric.parts, Ratio)
    parts = part_values(metric, deals_frame())
    # won a, d, e = 3; won or lost = 4 (b lost); open c and f count in neither.
    assert parts == {"numerator": 3, "denominator": 4}
    assert one(evaluate(deals_ds(), ["win_rate"]), "win_rate") == pytest.approx(3 / 4)  # not 3/6
    assert metric.formula == "won / (won + lost), deals closed in the period"


def test_a_ratio_written_as_a_mean_agrees_with_its_parts() -> None:
    acts = pl.DataFrame(
        {"at": [datetime(2025, 1, d) for d in (1, 2, 3, 4)], "success": [True, False, None, True]},
        schema={"at": TIMESTAMP, "success": pl.Boolean},
    )
    metric = CATALOG["activity_success_rate"]
    # 2 successful of the 3 with a known outcome (the empty one is in neither).
    assert part_values(metric, acts) == {"numerator": 2, "denominator": 3}
    got = one(evaluate(Dataset(frames={"activities": acts}), [metric.id]), metric.id)
    assert got == pytest.approx(2 / 3)


def test_nps_numerator_is_a_signed_difference_over_valid_answers() -> None:
    answers = pl.DataFrame(
        {"score": [10, 9, 8, 3, 11], "answered_at": [datetime(2025, 1, 1)] * 5},
        schema={"score": pl.Int64, "answered_at": TIMESTAMP},
    )
    metric = CATALOG["nps"]
    # Valid 0..10: 10, 9, 8, 3 -> promoters 2, detractors 1: (2 - 1) x 100 / 4 = 25 (11 is
    # left out: counting it as an answer would give 20).
    assert part_values(metric, answers) == {"numerator": 100.0, "denominator": 4}
    got = one(evaluate(Dataset(frames={"nps": answers}), ["nps"]), "nps")
    assert got == pytest.approx(25.0)


def test_a_quantile_interpolates_between_the_answered_leads() -> None:
    start = datetime(2025, 1, 1)
    minutes = [10, 20, 30, 40, 50]
    leads = pl.DataFrame(
        {"id": [f"L{i}" for i in range(5)], "created_at": [start] * 5,
         "first_contact_at": [start + timedelta(minutes=m) for m in minutes]},
        schema={"id": pl.String, "created_at": TIMESTAMP, "first_contact_at": TIMESTAMP},
    )  # fmt: skip
    metric = CATALOG["lead_response_minutes_p90"]
    assert metric.kind == Kind.QUANTILE
    # Position 0.9 x 4 = 3.6 between 40 and 50: 40 + 0.6 x 10 = 46 (the nearest value, 50, is
    # what a lower or higher rule would give).
    part = metric.parts
    assert isinstance(part, Measure)
    assert pl.DataFrame({"__minutes": minutes}).select(part.expr()).item() == pytest.approx(46)
    got = one(evaluate(Dataset(frames={"leads": leads}), [metric.id]), metric.id)
    assert got == pytest.approx(46)


def test_a_stock_counts_what_is_open_now() -> None:
    metric = CATALOG["deals_open"]
    assert metric.kind == Kind.STOCK and metric.parts is None
    assert one(evaluate(deals_ds(), ["deals_open"]), "deals_open") == 2  # c and f


def test_a_derived_metric_names_the_kpis_it_is_computed_from() -> None:
    metric = CATALOG["pipeline_velocity"]
    assert metric.kind == Kind.DERIVED
    ids = ["deals_open", "win_rate", "avg_deal_size", "sales_cycle_days_mean"]
    assert [m.id for m in metric.inputs] == ids
    values = evaluate(deals_ds(), [*ids, metric.id])
    # 2 open x 0.75 x 120 / ((10 + 30 + 1) / 3 days) = 13.17 a day.
    assert one(values, metric.id) == pytest.approx(2 * 0.75 * 120 / (41 / 3))


def test_every_kind_is_declared() -> None:
    assert {m.kind for m in CATALOG.values()} == set(Kind)


def test_a_declaration_without_kind_or_with_a_second_formula_is_refused() -> None:
    with pytest.raises(ValueError, match="declare its kind"):
        Metric(id="x", label="X", unit="count", direction="higher", needs=(), formula="x",
               compute=lambda ctx: ctx)  # fmt: skip
    with pytest.raises(ValueError, match="written from the parts"):
        Metric(id="x", label="X", unit="count", direction="higher", needs=needs(("deals", [])),
               formula="count of deals",
               compute=aggregate("deals", "created_at", count("deals")))  # fmt: skip
    with pytest.raises(ValueError, match="takes no `of`"):
        Measure(kind=Kind.COUNT, label="deals", of=pl.col("amount"))


@pytest.mark.skipif(not SAMPLE.is_dir(), reason="no sample_data folder")
def test_on_the_sample_every_aggregate_is_what_its_parts_give() -> None:
    ds = crmkpi.load(SAMPLE)
    ctx = Context(ds, Grain(), ds.config)
    checked = 0
    for metric in CATALOG.values():
        compute = metric.compute
        if not isinstance(compute, Aggregate) or metric.missing(ds, (), ds.config):
            continue
        result = evaluate(ds, [metric.id], Grain(), ds.config)[metric.id]
        if result.height != 1:  # one value per currency
            continue
        parts = part_values(metric, compute.rows(ctx).collect())
        if isinstance(metric.parts, Ratio):
            num, den = parts["numerator"], parts["denominator"]
            want = None if not den else num / den
        else:
            (want,) = parts.values()
        got = result["value"][0]
        assert (got is None and want is None) or got == pytest.approx(want), metric.id
        checked += 1
    assert checked >= 10


def test_a_ratio_label_pair_reads_as_a_division() -> None:
    assert ratio(count("a"), count("(b + c)")).text == "a / (b + c)"
    assert quantile_of("x", pl.col("x"), 0.5).text.startswith("50th percentile")
