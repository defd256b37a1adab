"""Every renderer over real public exports (read from $CRMKPI_REALDATA; skipped when unset)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from openpyxl import load_workbook

import crmkpi
from crmkpi.reporting import terminal

REALDATA = os.environ.get("CRMKPI_REALDATA")
pytestmark = pytest.mark.skipif(not REALDATA, reason="CRMKPI_REALDATA not set")
EXPORTS = ["maven_crm/sales_pipeline.csv", "botanic_nps/nps.csv"]


@pytest.mark.parametrize("relative", EXPORTS)
def test_every_format_renders_real_exports(relative: str) -> None:
    path = Path(REALDATA or "") / relative
    if not path.exists():
        pytest.skip(f"{relative} not in {REALDATA}")
    rep = crmkpi.report(crmkpi.load(path))
    text = terminal.render(rep, width=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    doc = json.loads(rep.to_json())
    computed = [k for k, v in doc["kpis"].items() if v["value"] is not None]
    assert computed  # each of these exports gives some KPIs
    skipped = {s.get("kpi") or s.get("table") for s in doc["skipped"]}
    assert skipped.isdisjoint(computed)
    workbook = load_workbook(io.BytesIO(rep.render("excel")))
    assert workbook.sheetnames[0] == "Summary"
    for fmt in ("markdown", "html", "csv"):
        assert rep.render(fmt)
