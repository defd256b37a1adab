"""The owners table, the generated docs and the `crmkpi metrics` command."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from metric_frames import STAGES, deals_ds, deals_frame, dt
from typer.testing import CliRunner

from crmkpi.cli import app
from crmkpi.dataset import Dataset
from crmkpi.metrics import CATALOG, TABLE_CATALOG, evaluate_tables
from crmkpi.metrics.docs import render

DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def test_owners_beside_team_and_ranked() -> None:
    t = evaluate_tables(deals_ds(), ["owners"])["owners"]
    rows = {r["owner"]: r for r in t.iter_rows(named=True)}
    # x: a won 100 (10 d), b lost, f open. y: c open, d won 200 (30 d), e won 60 (1 d).
    x, y = rows["x"], rows["y"]
    assert (x["deals"], x["deals_won"], x["deals_lost"], x["win_rate"]) == (3, 1, 1, 0.5)
    assert (x["revenue_won"], x["avg_deal_size"], x["cycle_days_median"]) == (100.0, 100.0, 10.0)
    assert (y["deals"], y["deals_won"], y["deals_lost"], y["win_rate"]) == (3, 2, 0, 1.0)
    assert y["revenue_won"] == 260.0 and y["avg_deal_size"] == 130.0
    assert y["cycle_days_median"] == pytest.approx(15.5)  # of 1 and 30
    assert (y["team_deals"], y["team_deals_won"], y["team_win_rate"]) == (6, 3, 0.75)
    assert y["team_revenue_won"] == 360.0 and y["team_cycle_days_median"] == 10.0
    assert t["owner"].to_list() == ["y", "x"]
    assert t["rank"].to_list() == [1, 2]


def test_docs_are_generated_from_the_declarations() -> None:
    text = render()
    for metric in CATALOG.values():
        assert f"`{metric.id}`" in text and metric.formula in text
    for spec in TABLE_CATALOG.values():
        assert f"`{spec.id}`" in text
    assert DOCS.read_text(encoding="utf-8") == text, "run `make docs`"


def test_metrics_command_lists_catalog_as_json() -> None:
    result = CliRunner().invoke(app, ["metrics", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [m["id"] for m in data["metrics"]] == list(CATALOG)
    win = next(m for m in data["metrics"] if m["id"] == "win_rate")
    assert win["unit"] == "ratio" and win["formula"] == CATALOG["win_rate"].formula
    assert [t["id"] for t in data["tables"]] == list(TABLE_CATALOG)


def test_metrics_command_table_and_bad_format() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["metrics"])
    assert result.exit_code == 0 and "win_rate" in result.output
    assert runner.invoke(app, ["metrics", "--format", "yaml"]).exit_code == 2


def test_owner_without_a_win_has_won_nothing() -> None:
    frame = deals_frame().with_columns(
        pl.when(pl.col("id") == "b").then(pl.lit("z")).otherwise(pl.col("owner")).alias("owner")
    )
    ds = Dataset(frames={"deals": frame}, stages=STAGES)
    z = evaluate_tables(ds, ["owners"])["owners"].filter(pl.col("owner") == "z").row(0, named=True)
    # z owns b only: created, closed lost. Revenue is a sum over no won deal (0); the size and
    # cycle of its won deals are averages over none (null); the win rate is 0 of 1 closed.
    assert (z["deals"], z["deals_won"], z["deals_lost"], z["win_rate"]) == (1, 0, 1, 0.0)
    assert z["revenue_won"] == 0.0
    assert z["avg_deal_size"] is None and z["cycle_days_median"] is None
    # The team keeps all six deals: won a, d, e (100 + 200 + 60); lost b.
    assert (z["team_deals"], z["team_deals_won"], z["team_revenue_won"]) == (6, 3, 360.0)


def test_every_kpi_and_table_names_its_authority() -> None:
    from crmkpi.metrics import CATALOG, TABLE_CATALOG

    assert [m.id for m in CATALOG.values() if not m.reference] == []
    assert [t.id for t in TABLE_CATALOG.values() if not t.reference] == []
    docs = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text()
    assert docs.count("- **Reference:**") == len(CATALOG) + len(TABLE_CATALOG)


def test_owners_open_pipeline_leads_and_nps_beside_the_team() -> None:
    leads = pl.DataFrame(
        {"owner": ["x", "x", "x", "y"], "converted": [True, False, False, True],
         "created_at": [dt(2024, 1, d) for d in (1, 2, 3, 4)]}
    )  # fmt: skip
    nps = pl.DataFrame(
        {"owner": ["x", "x", "x", "y", None], "score": [10, 0, 9, 7, 0]},
        schema={"owner": pl.String, "score": pl.Int64},
    )
    ds = Dataset(frames={"deals": deals_frame(), "leads": leads, "nps": nps}, stages=STAGES)
    t = evaluate_tables(ds, ["owners"])["owners"]
    assert t["owner"].to_list() == ["y", "x"]  # the answer without an owner has no row
    x, y = (t.filter(pl.col("owner") == o).row(0, named=True) for o in ("x", "y"))
    # Open now: x has f (no amount: its pipeline is unknown, not 0), y has c (30).
    assert (x["deals_open"], x["open_pipeline"], y["deals_open"], y["open_pipeline"]) == (
        1, None, 1, 30.0,
    )  # fmt: skip
    assert (x["team_deals_open"], x["team_open_pipeline"]) == (2, 30.0)
    # Leads: x converts 1 of 3, y 1 of 1; the team 2 of 4 = 0.5 (not the mean of the two
    # owners' rates, 0.67).
    assert (x["leads"], y["leads"], x["team_leads"]) == (3, 1, 4)
    assert x["lead_conversion_rate"] == pytest.approx(1 / 3)
    assert x["team_lead_conversion_rate"] == pytest.approx(0.5)
    # NPS: x 10 0 9 -> 100 x (2 - 1) / 3; y 7 -> 0; the team, with the answer no owner
    # holds, 10 0 9 7 0 -> 100 x (2 - 2) / 5 = 0.
    assert x["nps"] == pytest.approx(100 / 3) and y["nps"] == 0.0
    assert x["team_nps"] == 0.0
