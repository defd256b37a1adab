"""What the importer makes of one file, shown before anyone trusts a KPI built on it.

`inspect_file` runs the real loader on the file and reports each decision: format, encoding,
delimiter, header row, table kind and preset, each column's canonical meaning and the rule that
matched, how well each column parsed and in which format, day/month ambiguity, won/lost stages
and data-quality counts. `emit_config` turns those decisions into a crmkpi.toml snippet a person
can pin and edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from crmkpi.config import Config, SourceConfig, toml_string
from crmkpi.dataset import Dataset
from crmkpi.errors import InputError
from crmkpi.io.grid import read_grids
from crmkpi.io.load import read_file, source_for
from crmkpi.io.mapping import detect_preset
from crmkpi.io.quality import quality_facts, quality_totals
from crmkpi.io.stages import build_stage_model
from crmkpi.io.table_choice import AmbiguousTableError
from crmkpi.io.vocabulary import presets
from crmkpi.schema import TABLES


@dataclass(frozen=True)
class ColumnReport:
    header: str
    canonical: str | None
    rule: str | None  # config, preset:<crm>, alias:<lang>, abbr:<lang>, alias~:<lang>
    parse_format: str | None = None  # the sniffed number/date convention
    parsed: int = 0
    given: int = 0
    ambiguous: bool = False
    example: str | None = None  # a value from the file, to help map an unmapped column


@dataclass(frozen=True)
class Inspection:
    path: str
    format: str
    encoding: str | None
    delimiter: str | None
    header_row: int
    sheet: str | None
    table: str
    preset: str | None
    columns: tuple[ColumnReport, ...]
    unmapped: tuple[str, ...]
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    reject_reasons: dict[str, int] = field(default_factory=dict)
    won_stages: tuple[str, ...] = ()
    lost_stages: tuple[str, ...] = ()
    stage_order: tuple[str, ...] = ()
    stage_origin: str = "none"
    quality: dict[str, int] = field(default_factory=dict)
    table_scores: dict[str, float] = field(default_factory=dict)
    sheets: tuple[str, ...] = ()
    problem: str | None = None  # why the file does not load as it is (then table is "?")
    ambiguity: str | None = None  # two tables fit equally: shown as the first, to be pinned

    @property
    def ambiguous_dates(self) -> tuple[str, ...]:
        return tuple(c.header for c in self.columns if c.ambiguous)


def inspect_file(
    path: str | Path, config: Config | None = None, sheet: str | None = None
) -> Inspection:
    """Load one file as `load` would and describe every decision made on it."""
    p = Path(path)
    if not p.exists():
        raise InputError("no such file", path=str(p))
    if p.is_dir():
        raise InputError("inspect takes one file, not a folder", path=str(p))
    source = source_for(p, config)
    ambiguity = None
    try:
        try:
            converted = read_file(p, source, config, sheet)
        except AmbiguousTableError as exc:
            # shown as the better fit, so the emitted config pins a table and runs as written
            ambiguity = exc.message
            pinned = SourceConfig(name=p.stem) if source is None else source
            source = replace(pinned, table=exc.tables[0])
            converted = read_file(p, source, config, sheet)
    except InputError as exc:
        return _unreadable(p, source, sheet, exc)
    grid, conv = converted[0]
    plans = conv.plans
    by_header = {m.header: m for m in conv.mapping.matches}
    reports = []
    for header in grid.headers:
        match = by_header.get(header)
        if match is None:
            values = grid.frame[header].drop_nulls().str.strip_chars()
            example = next((v for v in values.head(50).to_list() if v), None)
            reports.append(ColumnReport(header, None, None, example=example))
            continue
        plan = plans.get(match.canonical)
        fmt = None
        ambiguous = False
        if plan is not None and plan.date is not None:
            fmt, ambiguous = plan.date.describe(), plan.date.ambiguous
        elif plan is not None and plan.kind == "bool":
            fmt = "yes/no words"
        elif plan is not None and plan.number is not None:
            fmt = f"decimal {plan.number.decimal!r}" + (
                " (guessed: only 1.234-like values)" if plan.number.ambiguous else ""
            )
        ok, given = conv.parse_counts.get(match.canonical, (0, 0))
        reports.append(ColumnReport(header, match.canonical, match.rule, fmt, ok, given, ambiguous))
    reasons = (
        conv.rejects.group_by("action", "reason").len().sort("len", descending=True).iter_rows()
    )
    preset = presets().get(conv.mapping.preset) if conv.mapping.preset else None
    frames = {conv.table: conv.frame}
    history = conv.history.frame if conv.history is not None else None
    stages = build_stage_model(
        config.stages if config else None,
        preset,
        conv.frame["stage"].drop_nulls().unique(maintain_order=True).to_list()
        if "stage" in conv.frame.columns
        else [],
        history if history is not None else (conv.frame if conv.table == "stage_history" else None),
    )
    ds = Dataset(frames=frames, inputs=[conv.summary], stages=stages)
    return Inspection(
        path=str(p),
        format=grid.format,
        encoding=grid.encoding,
        delimiter=grid.delimiter,
        header_row=grid.header_row,
        sheet=grid.sheet,
        table=conv.table,
        preset=conv.mapping.preset,
        columns=tuple(reports),
        unmapped=conv.mapping.unmapped,
        rows_read=conv.summary.rows_read,
        rows_loaded=conv.summary.rows_loaded,
        rows_rejected=conv.summary.rows_rejected,
        reject_reasons={f"{a}: {r}": n for a, r, n in reasons},
        won_stages=tuple(sorted(stages.won)),
        lost_stages=tuple(sorted(stages.lost)),
        stage_order=stages.order,
        stage_origin=stages.origin,
        quality=quality_totals(quality_facts(ds)),
        table_scores=dict(conv.mapping.scores),
        sheets=tuple(g.sheet for g, _ in converted if g.sheet),
        ambiguity=ambiguity,
    )


def _unreadable(
    path: Path, source: SourceConfig | None, sheet: str | None, error: InputError
) -> Inspection:
    """What can still be told about a file that does not map to a table: how it was read, its
    headers with an example value each, and why it does not load."""
    hints = dict(source.parse) if source else {}
    grids = [g for g in read_grids(path, sheet or (source.sheet if source else None), hints)
             if g.headers]  # fmt: skip
    if not grids:
        raise error
    grid = grids[0]
    grid.frame.columns = grid.headers
    columns = []
    for header in grid.headers:
        values = grid.frame[header].drop_nulls().str.strip_chars().head(50).to_list()
        columns.append(
            ColumnReport(header, None, None, example=next((v for v in values if v), None))
        )
    preset = detect_preset(grid.headers)
    return Inspection(
        path=str(path), format=grid.format, encoding=grid.encoding, delimiter=grid.delimiter,
        header_row=grid.header_row, sheet=grid.sheet, table="?",
        preset=preset.name if preset else None, columns=tuple(columns), unmapped=(),
        rows_read=grid.frame.height, rows_loaded=0, rows_rejected=0,
        problem=error.message + (f" ({error.hint})" if error.hint else ""),
    )  # fmt: skip


def _delimiter_name(delimiter: str | None) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(delimiter or "", "-")


def render_text(insp: Inspection) -> str:
    """The plain-text report `crmkpi inspect` prints."""
    lines = [f"File:        {insp.path}" + (f" [sheet {insp.sheet}]" if insp.sheet else "")]
    lines.append(
        f"Format:      {insp.format}  encoding {insp.encoding or '-'}  "
        f"delimiter {_delimiter_name(insp.delimiter)}  header row {insp.header_row}"
    )
    lines.append(f"Table:       {insp.table}  preset {insp.preset or '-'}")
    if insp.ambiguity:
        lines.append(f"Ambiguous:   {insp.ambiguity}; shown as {insp.table}, which a config pins")
    if insp.problem:
        lines.append(f"Rows:        {insp.rows_read} below the header, not loaded")
        lines += ["", "Columns:"]
        width = max((len(c.header) for c in insp.columns), default=6)
        lines += [f"  {c.header:<{width}}" + (f"  e.g. {c.example[:40]!r}" if c.example else "")
                  for c in insp.columns]  # fmt: skip
        lines += ["", f"Problem:     {insp.problem}"]
        return "\n".join(lines)
    if len(insp.sheets) > 1:
        lines.append(f"Sheets:      {', '.join(insp.sheets)} (showing one; choose with --sheet)")
    lines.append(
        f"Rows:        {insp.rows_read} read = {insp.rows_loaded} loaded + "
        f"{insp.rows_rejected} rejected"
    )
    lines.append("")
    lines.append("Columns:")
    width = max((len(c.header) for c in insp.columns), default=6)
    for c in insp.columns:
        if c.canonical is None:
            example = f"  e.g. {c.example[:40]!r}" if c.example else ""
            lines.append(f"  {c.header:<{width}}  (kept as extra column){example}")
            continue
        parse = f"  {c.parsed}/{c.given} parsed" if c.parse_format else ""
        fmt = f"  [{c.parse_format}]" if c.parse_format else ""
        warn = "  AMBIGUOUS day/month order" if c.ambiguous else ""
        lines.append(f"  {c.header:<{width}}  -> {c.canonical:<18} by {c.rule}{parse}{fmt}{warn}")
    if insp.ambiguous_dates:
        lines.append("")
        lines.append(
            "Ambiguous dates: "
            + ", ".join(insp.ambiguous_dates)
            + ' (no day above 12 seen; set [sources.NAME.parse] date_order = "dmy" or "mdy")'
        )
    if insp.stage_order:
        lines += ["", f"Stages ({insp.stage_origin}): " + " > ".join(insp.stage_order)]
        lines.append(f"  won:  {', '.join(insp.won_stages) or '-'}")
        lines.append(f"  lost: {', '.join(insp.lost_stages) or '-'}")
    if insp.reject_reasons:
        lines += ["", "Rejected or flagged:"]
        lines += [f"  {n:>6}  {reason}" for reason, n in insp.reject_reasons.items()]
    if insp.quality:
        lines += ["", "Data quality:"]
        lines += [f"  {n:>6}  {fact}" for fact, n in sorted(insp.quality.items())]
    return "\n".join(lines)


def emit_config(insp: Inspection, name: str | None = None) -> str:
    """A crmkpi.toml [sources] section pinning what was detected, ready to edit."""
    if insp.problem:
        return _config_template(insp, name or Path(insp.path).stem)
    source = name or insp.table
    lines = [f"# {insp.ambiguity}: check the table"] if insp.ambiguity else []
    lines += [f"[sources.{source}]", f"path = {toml_string(Path(insp.path).name)}"]
    lines.append(f"table = {toml_string(insp.table)}")
    if insp.preset:
        lines.append(f"preset = {toml_string(insp.preset)}")
    if insp.sheet:
        lines.append(f"sheet = {toml_string(insp.sheet)}")
    lines += ["", f"[sources.{source}.columns]"]
    for c in insp.columns:
        if c.canonical and not c.canonical.startswith("_"):
            lines.append(f"{c.canonical} = {toml_string(c.header)}")
    matched = {c.canonical for c in insp.columns}
    for canonical in (c for c in TABLES[insp.table].names if c not in matched):
        lines.append(f'# {canonical} = ""  (not found: name the header that holds it)')
    lines += ["", f"[sources.{source}.parse]"]
    if insp.encoding:
        lines.append(f"encoding = {toml_string(insp.encoding)}")
    if insp.delimiter:
        lines.append(f"delimiter = {toml_string(insp.delimiter)}")
    lines.append(f"header_row = {insp.header_row}")
    if insp.ambiguous_dates:
        lines.append('date_order = "dmy"  # ambiguous in this file: check, or use "mdy"')
    if insp.stage_order and insp.table == "deals":
        lines += [
            "",
            "[stages]",
            "order = [" + ", ".join(map(toml_string, insp.stage_order)) + "]",
        ]
        lines.append("won = [" + ", ".join(map(toml_string, insp.won_stages)) + "]")
        lines.append("lost = [" + ", ".join(map(toml_string, insp.lost_stages)) + "]")
    return "\n".join(lines) + "\n"


def _config_template(insp: Inspection, name: str) -> str:
    """For a file that does not load as it is: the section to fill in, headers listed."""
    key = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in name) or "source"
    lines = [
        f"# {insp.problem}",
        f"[sources.{key}]",
        f"path = {toml_string(Path(insp.path).name)}",
    ]
    lines.append(f'# table = ""  (one of: {", ".join(TABLES)})')
    if insp.sheet:
        lines.append(f"sheet = {toml_string(insp.sheet)}")
    lines += ["", f"[sources.{key}.columns]", "# canonical = header; the headers of this file:"]
    lines += [f"# ? = {toml_string(c.header)}" for c in insp.columns]
    lines += ["", f"[sources.{key}.parse]"]
    if insp.encoding:
        lines.append(f"encoding = {toml_string(insp.encoding)}")
    if insp.delimiter:
        lines.append(f"delimiter = {toml_string(insp.delimiter)}")
    lines.append(f"header_row = {insp.header_row}")
    return "\n".join(lines) + "\n"
