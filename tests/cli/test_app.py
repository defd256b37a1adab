"""The root command: options that work without a subcommand."""

from __future__ import annotations

from typer.testing import CliRunner

import crmkpi
from crmkpi.cli import app


def test_version_without_a_command() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output == f"crmkpi {crmkpi.__version__}\n"
