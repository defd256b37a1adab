"""The public names of `crmkpi` stay the API functions, whatever modules were imported first."""

from __future__ import annotations

import importlib
import subprocess
import sys

import crmkpi
from crmkpi.dataset import Dataset


def test_report_is_callable_even_after_its_package_was_imported(ds: Dataset) -> None:
    importlib.import_module("crmkpi.reporting.build")  # binds crmkpi.reporting, not crmkpi.report
    from crmkpi.reporting.model import Report

    rep = crmkpi.report(ds)
    assert isinstance(rep, Report)
    # By hand over every deal: won D1, D3, D4, D8, D10 of 9 closed.
    assert rep.kpis["win_rate"].value == 5 / 9


def test_explain_and_convert_are_functions() -> None:
    importlib.import_module("crmkpi.metrics.explain")
    importlib.import_module("crmkpi.io.parquet_folder")

    assert callable(crmkpi.explain) and crmkpi.explain.__module__ == "crmkpi.api"
    assert crmkpi.convert.__module__ == "crmkpi.api"
    assert crmkpi.metric.__doc__ and crmkpi.query.__doc__ and crmkpi.load.__doc__


def test_importing_crmkpi_is_cheap() -> None:
    code = "import crmkpi, sys; print('polars' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
