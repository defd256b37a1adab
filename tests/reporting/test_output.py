"""Writing reports: atomic rename, permissions, refusing to overwrite an input, path templates."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from crmkpi.errors import UsageError
from crmkpi.reporting.model import Report
from crmkpi.reporting.output import expand_path, write_atomic


def test_new_file_gets_the_umask_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "r.json", "{}")
    finally:
        os.umask(old)
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_existing_file_keeps_its_permissions(tmp_path: Path) -> None:
    target = tmp_path / "r.md"
    target.write_text("old")
    target.chmod(0o600)
    write_atomic(target, "new")
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o600


def test_refuses_to_overwrite_an_input(tmp_path: Path) -> None:
    source = tmp_path / "deals.csv"
    source.write_text("id\n1\n")
    with pytest.raises(UsageError, match="refusing to overwrite the input file"):
        write_atomic(source, "x", protected=[source])
    assert source.read_text() == "id\n1\n"


def test_path_template() -> None:
    when = datetime(2025, 3, 4, 5, 6, 7)
    assert expand_path("out/{date}.xlsx", when) == Path("out/2025-03-04.xlsx")
    assert expand_path("{week}-{month}.md", when) == Path("2025-W10-2025-03.md")
    with pytest.raises(UsageError):
        expand_path("{year}.md", when)


def test_report_methods_write_each_format(report: Report, tmp_path: Path) -> None:
    report.to_excel(tmp_path / "r.xlsx")
    assert (tmp_path / "r.xlsx").read_bytes()[:2] == b"PK"
    assert report.write(tmp_path / "r.html") == "html"
    assert report.render("markdown").startswith("# Northwind sales")
