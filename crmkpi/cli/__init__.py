"""The command line: a thin typer shell over the Python API.

Each command lives in its own module and registers itself on `app`; this module imports them
lazily-cheap (no polars at import time) so `crmkpi --help` is instant.
"""

from __future__ import annotations

import importlib

from crmkpi.cli.app import app, main

# One module per command; each calls `@app.command()` on import. Order is the --help order.
COMMANDS = ("report", "inspect", "metric", "metrics", "query", "tables", "convert", "explain",
            "history", "diff", "init")  # fmt: skip

for _name in COMMANDS:
    try:
        importlib.import_module(f"crmkpi.cli.{_name}_cmd")
    except ModuleNotFoundError as exc:  # a command module not written yet
        if exc.name != f"crmkpi.cli.{_name}_cmd":
            raise

__all__ = ["app", "main"]
