"""`crmkpi init [FOLDER]`: a commented starter crmkpi.toml from the exports found in a folder.

Everything detected (sources, stage order, currencies) is written out so the next run does not
depend on guessing; targets are suggested from today's values but left commented out.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from crmkpi.cli.app import app, handle_errors
from crmkpi.config import toml_string
from crmkpi.errors import CrmkpiError, UsageError

if TYPE_CHECKING:
    from crmkpi.dataset import Dataset
    from crmkpi.io.inspect import Inspection

# KPIs a starter config suggests targets for, when the data gives them.
SUGGESTED_TARGETS = (
    "win_rate",
    "deals_won",
    "avg_deal_size",
    "sales_cycle_days_median",
    "lead_response_minutes_median",
    "lead_conversion_rate",
    "cac",
    "customer_churn_rate",
    "nps",
)


def _heading(text: str) -> str:
    return f"# --- {text} ".ljust(79, "-")


def _strings(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(toml_string(v) for v in values) + "]"


def _bare_key(name: str) -> str:
    ok = name.replace("_", "").replace("-", "").isalnum() and name.isascii()
    return name if ok else toml_string(name)


def usable(insp: Inspection) -> bool:
    """A file worth a source: some of its rows load (or it has none to load)."""
    return insp.rows_loaded > 0 or insp.rows_read == 0


def _sources(folder: Path, found: list[Inspection], skipped: list[str]) -> list[str]:
    lines = [_heading("Sources: which file holds which table")]
    if not found:
        lines += [
            "# No exports were recognised in this folder. Add one section per file:",
            "# [sources.deals]",
            '# path = "exports/deals-*.csv"   # relative to this file; globs work',
            '# table = "deals"                # deals, stage_history, leads, activities, ...',
            '# preset = "hubspot"             # optional: the CRM the export comes from',
        ]
    used: dict[str, int] = {}
    for insp in found:
        count = used.get(insp.table, 0)
        used[insp.table] = count + 1
        name = insp.table if count == 0 else f"{insp.table}_{count + 1}"
        relative = Path(insp.path).resolve().relative_to(folder.resolve()).as_posix()
        section = [
            f"[sources.{name}]",
            f"path = {toml_string(relative)}",
            f"table = {toml_string(insp.table)}",
        ]
        if insp.preset:
            section.append(f"preset = {toml_string(insp.preset)}")
        if insp.sheet:
            section.append(f"sheet = {toml_string(insp.sheet)}")
        if not usable(insp):
            # Every row rejected: the file looked like this table but is not one. Left off.
            lines += ["", f"# Every row of {relative} was rejected: probably not {insp.table}."]
            lines += [f"# {line}" for line in section]
            continue
        lines += ["", *section]
        lines.append(
            f"# {insp.rows_loaded} of {insp.rows_read} rows loaded; "
            f"{insp.encoding or insp.format}, header row {insp.header_row}"
        )
        mapped = [c for c in insp.columns if c.canonical and not c.canonical.startswith("_")]
        if mapped:
            lines.append("# Columns as detected; uncomment to pin them (canonical = header):")
            lines.append(f"# [sources.{name}.columns]")
            lines += [f"# {c.canonical} = {toml_string(c.header)}" for c in mapped]
        if insp.ambiguous_dates:
            lines += [
                f"# Day/month order is ambiguous in {', '.join(insp.ambiguous_dates)}:",
                f"# [sources.{name}.parse]",
                '# date_order = "dmy"   # or "mdy"',
            ]
    if skipped:
        lines += ["", "# Not recognised as a table (not read when the report uses only [sources]):"]
        lines += [f"# - {reason.split(' (expected')[0]}" for reason in skipped]
    return lines


_STAGE_ORIGINS = {
    "preset": "the CRM's standard pipeline",
    "history": "the stage history",
    "inferred": "the deals' own stages (a guess)",
}


def _stages(ds: Dataset | None) -> list[str]:
    lines = ["", _heading("Stages: pipeline order, and which stages close a deal")]
    lines.append("[stages]")
    stages = ds.stages if ds is not None else None
    if stages is None or not stages.order:
        lines += [
            '# order = ["New", "Qualified", "Proposal", "Negotiation", "Won", "Lost"]',
            '# won = ["Won"]',
            '# lost = ["Lost"]',
        ]
        return lines
    origin = _STAGE_ORIGINS.get(stages.origin, stages.origin)
    lines.append(f"# detected from {origin}; check the order, it drives the funnel")
    lines.append(f"order = {_strings(stages.order)}")
    lines.append(f"won = {_strings(sorted(stages.won))}")
    lines.append(f"lost = {_strings(sorted(stages.lost))}")
    lines.append("# stuck_days = { Proposal = 21 }   # a deal longer than this in a stage is stuck")
    return lines


def _currencies(ds: Dataset | None) -> list[str]:
    codes: set[str] = set()
    for frame in ds.frames.values() if ds is not None else ():
        if "currency" in frame.columns:
            codes.update(str(c) for c in frame["currency"].drop_nulls().unique().to_list())
    lines = ["", "[currency]"]
    if len(codes) > 1:
        lines.append(f"# amounts come in {', '.join(sorted(codes))}: a base currency adds them up")
        lines.append(f"base = {toml_string(sorted(codes)[0])}")
        lines.append('# rates_file = "rates.csv"   # date,currency,rate; else built-in ECB rates')
    else:
        found = f" (the exports use {next(iter(codes))})" if codes else ""
        lines.append(f'# base = "EUR"{found}')
    return lines


def _targets(ds: Dataset | None) -> list[str]:
    from crmkpi.metrics import CATALOG, evaluate
    from crmkpi.reporting.format import format_value

    lines = [
        "",
        _heading("Targets: a KPI breaching one alerts (--fail-on-alert exits 3)"),
        '# Forms: ">= 0.25", "<= 30", { max = 1200, warn = 1000 }; ids: `crmkpi metrics`.',
        "# The values after # are today's, over all the data.",
        "[targets]",
    ]
    ids = [k for k in SUGGESTED_TARGETS if k in CATALOG]
    values = {}
    if ds is not None:
        skipped: dict[str, str] = {}
        frames = evaluate(ds, ids, None, ds.config, skipped=skipped)
        for kpi_id, frame in frames.items():
            if frame.height == 1 and frame["value"][0] is not None:
                values[kpi_id] = float(frame["value"][0])
    for kpi_id in ids:
        metric = CATALOG[kpi_id]
        op = ">=" if metric.direction == "higher" else "<="
        now = values.get(kpi_id)
        if now is None:
            continue
        shown = f"{now:.0f}" if abs(now) >= 100 or metric.unit == "count" else f"{now:.3g}"
        lines.append(
            f"# {kpi_id} = {toml_string(f'{op} {shown}')}   # now {format_value(now, metric.unit)}"
        )
    if not values:
        lines.append('# win_rate = ">= 0.25"')
    lines += ["", "# Per owner (for every owner, or one owner's own table):"]
    lines += ["# [targets.by_owner]", '# deals_won = ">= 5"']
    owners: list[str] = []
    if ds is not None and ds.has("deals", "owner"):
        owners = sorted(str(o) for o in ds.frames["deals"]["owner"].drop_nulls().unique())[:1]
    for owner in owners:
        lines += [f"# [targets.by_owner.{_bare_key(owner)}]", '# deals_won = ">= 8"']
    return lines


def starter_config(
    folder: Path, found: list[Inspection], skipped: list[str], ds: Dataset | None
) -> str:
    """The text of a commented crmkpi.toml for `folder`."""
    lines = [
        f"# crmkpi.toml, started by `crmkpi init` on {date.today().isoformat()}.",
        "# Paths are relative to this file. Every section is optional.",
        f"title = {toml_string(folder.resolve().name.replace('_', ' ').title() + ' sales KPIs')}",
        "",
        *_sources(folder, found, skipped),
        *_stages(ds),
        "",
        _heading("Calendar, money, leads"),
        "[periods]",
        'week_start = "monday"',
        "fiscal_year_start_month = 1",
        *_currencies(ds),
        "",
        "[leads]",
        "response_sla_minutes = 60",
        "",
        "[economics]",
        "# gross_margin = 0.7        # share of revenue kept; used by CLV and CAC payback",
        "",
        "# [quota]",
        "# quarter = 360000          # team quota (or month, year): attainment, pacing,",
        "#                           # forecast against quota, pipeline coverage",
        '# file = "quotas.csv"       # the reps quotas: owner, period (2026-Q3), amount',
        *_targets(ds),
        "",
        _heading("Alerts"),
        "[alerts]",
        "change_threshold = 0.2      # a KPI moving 20% the wrong way alerts; false: off",
        "# change_threshold_by_kpi = { customer_churn_rate = 0.5, nps = false }",
        "# max_file_age_days = 2     # an export older than this alerts",
        "max_rejected_share = 0.0    # share of rows rejected that alerts (0: any)",
        'no_data_period = "month"    # a month with no deals/leads/activities alerts; false: off',
        "",
        _heading("History of runs saved by `crmkpi report --save`"),
        "[history]",
        '# path = ".crmkpi/history.sqlite"',
    ]
    return "\n".join(lines) + "\n"


@app.command("init")
@handle_errors
def init_command(
    folder: Path = typer.Argument(Path("."), help="The folder holding the exports."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing crmkpi.toml."),
) -> None:
    """Write a commented crmkpi.toml from the exports found in FOLDER."""
    from crmkpi.config import CONFIG_NAME, load_config
    from crmkpi.io.inspect import inspect_file
    from crmkpi.io.load import collect_files, load
    from crmkpi.reporting.output import write_atomic

    if not folder.is_dir():
        raise UsageError(f"not a folder: {folder}")
    target = folder / CONFIG_NAME
    if target.exists() and not force:
        raise UsageError(f"{target} already exists", hint="use --force to overwrite it")
    found: list[Inspection] = []
    skipped: list[str] = []
    for path, _source in collect_files([folder], None):
        try:
            insp = inspect_file(path)
        except CrmkpiError as exc:
            skipped.append(str(exc))
            continue
        if insp.problem:  # read, but not a table of any known kind
            skipped.append(f"{insp.path}: {insp.problem}")
        else:
            found.append(insp)
    ds = None
    if any(usable(i) for i in found):
        # Only the recognised files: one file of another kind must not lose the stage order.
        recognised = list(dict.fromkeys(Path(i.path) for i in found if usable(i)))
        try:
            ds = load(recognised, None)
        except CrmkpiError as exc:
            skipped.append(str(exc))
    text = starter_config(folder, found, list(dict.fromkeys(skipped)), ds)
    load_config_check(text, target, load_config)
    write_atomic(target, text)
    typer.echo(
        f"crmkpi: wrote {target} ({len(found)} source{'s' if len(found) != 1 else ''}"
        f"{f', {len(skipped)} not recognised' if skipped else ''}); "
        f"next: crmkpi report --config {target}",
        err=True,
    )


def load_config_check(text: str, target: Path, load_config) -> None:  # noqa: ANN001
    """The starter must itself be a valid config; check before writing it."""
    import tempfile

    from crmkpi.reporting.targets import project_targets

    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / target.name
        probe.write_text(text, encoding="utf-8")
        project_targets(load_config(probe))  # its KPI ids too, not only its syntax
