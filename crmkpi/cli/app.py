"""The typer app, global options, and the one place errors become exit codes."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer

import crmkpi
from crmkpi.errors import EXIT_INPUT, EXIT_INTERNAL, CrmkpiError

app = typer.Typer(
    name="crmkpi",
    help="Sales KPIs from any CRM's CSV or XLSX exports.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: typer's rich help imports markdown-it, 0.1 s per --help
)

F = TypeVar("F", bound=Callable[..., Any])


class State:
    debug: bool = False


def _print_version(asked: bool) -> None:
    # eager: runs while the options are parsed, before the group asks for a command
    if asked:
        typer.echo(f"crmkpi {crmkpi.__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_print_version,
        is_eager=True,
    ),
) -> None:  # fmt: skip
    State.debug = debug or bool(os.environ.get("CRMKPI_DEBUG"))


def fail(message: str, code: int = EXIT_INPUT) -> None:
    """One line on stderr, then exit with `code`."""
    from crmkpi.reporting.safe_text import terminal_line

    typer.echo(f"crmkpi: error: {terminal_line(message)}", err=True)
    raise typer.Exit(code)


def handle_errors(func: F) -> F:
    """User errors: one stderr line and exit 2; anything else exit 1 (traceback on --debug)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except CrmkpiError as exc:
            if State.debug:
                raise
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except BrokenPipeError:
            sys.stderr.close()
            raise typer.Exit(0) from None
        except Exception as exc:
            if State.debug:
                raise
            fail(f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)",
                 EXIT_INTERNAL)  # fmt: skip
        except BaseException as exc:
            # pyo3's PanicException (a Rust panic in Polars or calamine) is a BaseException:
            # one line like any internal error, not a traceback that fills a cron mail
            if type(exc).__name__ != "PanicException" or State.debug:
                raise
            fail(f"internal error: a panic in a Rust library: {exc} (run with --debug for details)",
                 EXIT_INTERNAL)  # fmt: skip

    return wrapper  # type: ignore[return-value]


def main() -> None:
    app()
