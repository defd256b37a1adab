"""What `crmkpi report --save / --quiet / --fail-on-alert` add: saving the run, alert lines, exit 3.

Alert lines (drawn by reporting.terminal) go to stdout, since cron mails stdout; notes about what
was done go to stderr.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from crmkpi.errors import EXIT_ALERT

if TYPE_CHECKING:
    from crmkpi.dataset import Dataset
    from crmkpi.reporting.model import Alert, Report


def print_alerts(alerts: list[Alert]) -> None:
    from crmkpi.reporting.terminal import alert_lines

    for line in alert_lines(alerts):
        typer.echo(line)


def save_run(report: Report, ds: Dataset, quiet: bool) -> None:
    """The team's KPI values and each owner's, in the history store by the config."""
    from crmkpi.config import Config
    from crmkpi.history.store import HistoryStore
    from crmkpi.reporting.alerts import owner_values, report_grain

    config = ds.config or Config()
    ids = [k for k, v in report.kpis.items() if v.value is not None]
    by_owner, _unsplittable = owner_values(ids, ds, config, report_grain(report, config))
    path = config.history_file
    with HistoryStore(path, create=True) as store:
        run_id = store.save_report(report, by_owner)
    if not quiet:
        typer.echo(f"crmkpi: saved run {run_id} to {path}", err=True)


def exit_on_alerts(alerts: list[Alert], quiet: bool = False) -> None:
    """Exit 3, with a count on stderr unless --quiet (whose alert lines already say it all)."""
    if not quiet:
        bad = sum(1 for a in alerts if a.severity == "bad")
        plural = "s" if len(alerts) != 1 else ""
        typer.echo(f"crmkpi: {len(alerts)} alert{plural} ({bad} bad); exit {EXIT_ALERT}", err=True)
    raise typer.Exit(EXIT_ALERT)
