"""`crmkpi init` on real exports: the starter config loads and the report runs on it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmkpi.cli import app
from crmkpi.config import load_config

REALDATA = os.environ.get("CRMKPI_REALDATA")
pytestmark = pytest.mark.skipif(not REALDATA, reason="CRMKPI_REALDATA not set")


@pytest.mark.parametrize("name", ["maven_crm", "salesforce_devorg_sample"])
def test_init_then_report_on_real_exports(tmp_path, name):
    folder = tmp_path / name
    shutil.copytree(Path(REALDATA) / name, folder)
    result = CliRunner().invoke(app, ["init", str(folder)])
    assert result.exit_code == 0, result.output
    config = load_config(folder / "crmkpi.toml")
    deals = [s for s in config.sources if s.table == "deals"]
    assert len(deals) == 1
    # maven_crm: deal_stage Won/Lost/Engaging/Prospecting (SOURCES.md); Salesforce: Closed Won.
    assert any("Won" in stage for stage in config.stages.won)
    report = CliRunner().invoke(
        app, ["report", "-c", str(folder / "crmkpi.toml"), "-f", "json", "--save"]
    )
    assert report.exit_code == 0, report.output
    assert (folder / ".crmkpi" / "history.sqlite").is_file()
