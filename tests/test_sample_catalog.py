"""The demo company holds every table, so with its config every KPI of the catalog has a value."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from crmkpi.cli import app
from crmkpi.metrics import CATALOG, TABLE_CATALOG

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


def test_every_catalog_kpi_and_table_has_a_value_on_the_sample_data() -> None:
    result = CliRunner().invoke(
        app,
        ["report", str(SAMPLE), "--config", str(SAMPLE / "crmkpi.toml"), "--format", "json"],
    )
    assert result.exit_code in (0, 3), result.output  # 3 only with --fail-on-alert
    doc = json.loads(result.stdout)
    missing = {k: v.get("reason") for k, v in doc["kpis"].items() if v["value"] is None}
    assert missing == {}
    assert set(doc["kpis"]) == set(CATALOG)
    # Currency conversion is the one table that needs a second currency in the data.
    assert set(doc["tables"]) >= set(TABLE_CATALOG) - {"currency_conversion"}
    # No demo deal is far enough from the typical size to be an outlier: an empty list is an answer.
    for name in set(TABLE_CATALOG) - {"currency_conversion", "deal_size_outliers"}:
        assert doc["tables"][name], f"table {name} is empty"
