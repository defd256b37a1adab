"""The Python API: the same core the command line uses.

import crmkpi
ds = crmkpi.load("exports/")
rep = crmkpi.report(ds)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from crmkpi.config import Config, find_config, load_config

if TYPE_CHECKING:
    from crmkpi.dataset import Dataset
    from crmkpi.report.model import Report

PathLike = str | Path


def load(
    paths: PathLike | Sequence[PathLike] = (),
    *,
    config: Config | PathLike | None = None,
    strict: bool = False,
) -> Dataset:
    """Read exports (files, folders, or the sources of a config) into canonical tables."""
    from crmkpi.io.load import load as load_files

    if not isinstance(config, Config):
        config = load_config(find_config(config))
    if isinstance(paths, str | Path):
        paths = [paths]
    ds = load_files(list(paths), config, strict=strict)
    ds.config = config
    return ds


def report(
    ds: Dataset,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    period: str | None = None,
    by: Sequence[str] = (),
    sections: Sequence[str] = (),
    title: str | None = None,
) -> Report:
    """Compute the report model (KPIs, tables, alerts) for a loaded dataset."""
    from crmkpi.report.build import ReportOptions, build_report

    options = ReportOptions(
        since=since, until=until, period=period, by=tuple(by), sections=tuple(sections), title=title
    )
    return build_report(ds, ds.config, options)
