"""Files, folders and config sources -> one Dataset, with an account of every file and row.

Each file is read once into text cells, its table and columns are recognised, its columns are
parsed with one sniffed format each, and its rows are split into loaded and rejected. Frames of
the same table from several files are concatenated; the stage model is settled last, when all
deals and stage history are known.
"""

from __future__ import annotations

import csv
import fnmatch
import glob
import io
import stat
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

import polars as pl

from crmkpi.config import Config, SourceConfig
from crmkpi.dataset import REJECTS_SCHEMA, Dataset, InputSummary, StageModel
from crmkpi.errors import InputError, UnknownTableError
from crmkpi.io.accounting import strict_check
from crmkpi.io.cache import ParseCache, cached_read
from crmkpi.io.convert import Converted, canonical_frame
from crmkpi.io.duplicates import LINE, Part, settle
from crmkpi.io.grid import Grid, read_grids
from crmkpi.io.limits import limits_of, reader_failures
from crmkpi.io.links import apply_links
from crmkpi.io.mapping import map_headers
from crmkpi.io.owner_names import is_users_name, name_owners, read_owner_names
from crmkpi.io.parquet_folder import read_manifest
from crmkpi.io.recognition import ColumnValues
from crmkpi.io.sniff import decode, sniff_encoding
from crmkpi.io.source_fill import check_headers, fill
from crmkpi.io.stages import StageMeaning, build_stage_model
from crmkpi.io.vocabulary import presets
from crmkpi.schema import TABLES, conform

TEXT_SUFFIXES = {".csv", ".tsv", ".tab", ".psv", ".txt"}
TABLE_SUFFIXES = {".csv", ".tsv", ".tab", ".psv", ".txt", ".xlsx", ".xlsm", ".xls", ".ods",
                  ".htm", ".html", ".parquet"}  # fmt: skip
# Suffixes a folder may hold beside the exports; anything else unknown is skipped as well.
NOT_TABLES = {".toml", ".md", ".json", ".yaml", ".yml", ".pdf", ".png", ".jpg", ".zip", ".db",
              ".sqlite", ".log", ".ini", ".cfg", ".py", ".sh"}  # fmt: skip
_NON_TABLE_TEXT = ("readme", "license", "licence", "notes", "changelog")


def _folder_files(folder: Path, unreadable: list[InputError] | None = None) -> list[Path]:
    """The table files of a folder; a .txt that cannot be opened to tell is put in `unreadable`
    (listed as not used with its reason, like any other file that is not a table)."""
    out = []
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.name.startswith((".", "~$")):
            continue
        suffix = p.suffix.lower()
        if suffix not in TABLE_SUFFIXES:
            continue
        if suffix == ".txt" and p.stem.lower().startswith(_NON_TABLE_TEXT):
            continue
        if suffix == ".txt":
            try:
                if not _tabular(p):
                    continue
            except OSError as exc:
                reason = f"cannot read: {exc.strerror or exc}"
                if unreadable is not None:
                    unreadable.append(UnknownTableError(reason, path=str(p)))
                continue
        out.append(p)
    return out


def _tabular(path: Path) -> bool:
    """A .txt that is delimited text (Excel "Unicode text" or a TSV), not prose."""
    with path.open("rb") as fh:
        head = fh.read(8192)
    try:
        text = decode(head, sniff_encoding(head))
    except UnicodeDecodeError:
        return False
    lines = [line for line in text.splitlines()[:5] if line.strip()]
    if len(lines) < 2:
        return False
    for delim in ("\t", ";", ",", "|"):
        counts = {len(r) for r in csv.reader(io.StringIO("\n".join(lines)), delimiter=delim)}
        if len(counts) == 1 and counts.pop() > 1:
            return True
    return False


def collect_files(
    paths: Sequence[str | Path], config: Config | None
) -> list[tuple[Path, SourceConfig | None]]:
    """The files to read, each with the config source that claims it (if any)."""
    return [(f, source) for f, source, _ in _collect_files(paths, config)]


def _identity(path: Path) -> Path:
    """The resolved path, except for a pipe (/dev/stdin, /dev/fd/63 of `<(...)`) whose link
    resolves to a name such as pipe:[1234] that cannot be opened: that keeps its own name."""
    resolved = path.resolve()
    return resolved if resolved.exists() else path


def _source_matches(pattern: str) -> list[Path]:
    """A literal path when one exists (`deals[2024].csv` is a file name), else a glob."""
    literal = Path(pattern)
    if literal.exists() and not literal.is_dir():
        return [literal]
    return sorted(Path(m) for m in glob.glob(pattern))


def _collect_files(
    paths: Sequence[str | Path],
    config: Config | None,
    unreadable: list[InputError] | None = None,
) -> list[tuple[Path, SourceConfig | None, bool]]:
    """The files to read, with their config source and whether a folder scan found them."""
    claimed: dict[Path, SourceConfig] = {}
    for source in config.sources if config else ():
        if not source.path:
            continue
        pattern = str(config.resolve(source.path)) if config else source.path
        matches = _source_matches(pattern)
        if not matches:
            raise InputError(
                f"no file matches sources.{source.name}.path {source.path!r}", path=pattern
            )
        for m in matches:
            claimed.setdefault(_identity(m), source)
    seen: dict[Path, tuple[SourceConfig | None, bool]] = {}
    for raw in paths:
        p = Path(raw).expanduser()
        if not p.exists():
            raise InputError("no such file or folder", path=str(p))
        files = _folder_files(p, unreadable) if p.is_dir() else [p]
        for f in files:
            source = claimed.get(_identity(f))
            seen.setdefault(_identity(f), (source, p.is_dir() and source is None))
    for f, source in claimed.items():
        seen.setdefault(f, (source, False))
    return [(f, source, scanned) for f, (source, scanned) in seen.items()]


def source_for(path: Path, config: Config | None) -> SourceConfig | None:
    """A source whose glob names this file by name (for files given on the command line)."""
    for source in config.sources if config else ():
        if source.path and fnmatch.fnmatch(path.name, Path(source.path).name):
            return source
    return None


def read_file(
    path: Path, source: SourceConfig | None, config: Config | None, sheet: str | None = None
) -> list[tuple[Grid, Converted]]:
    """Read one file (every recognisable sheet of a workbook) into converted tables."""
    hints: dict[str, Any] = dict(source.parse) if source else {}
    if config is not None:  # "FY2025" starts in the configured fiscal month
        hints.setdefault("fiscal_year_start_month", config.fiscal_year_start_month)
    grids = read_grids(path, sheet or (source.sheet if source else None), hints, limits_of(config))
    stages_config = config.stages if config else None
    out: list[tuple[Grid, Converted]] = []
    errors: list[InputError] = []
    display = str(path)
    try:
        modified = path.stat().st_mtime
    except OSError:
        modified = None
    for grid in grids:
        where = f"{display} [{grid.sheet}]" if grid.sheet and len(grids) > 1 else display
        if not grid.headers:
            errors.append(InputError("empty file: no header row", path=where))
            continue
        try:
            sheet_source = source
            if source is not None:  # what the config says the file leaves unsaid
                check_headers(grid, source, where)
                grid, sheet_source = fill(grid, source)
            mapping = map_headers(grid.headers, path.name, sheet_source, _values_of(grid))
        except InputError as exc:
            exc.path = where
            errors.append(exc)
            continue
        preset = presets().get(mapping.preset) if mapping.preset else None
        meaning = StageMeaning.build(stages_config, preset)
        converted = canonical_frame(
            grid,
            mapping,
            path=display,
            label=where,
            hints=hints,
            stage_meaning=meaning,
            modified_at=modified,
        )
        out.append((grid, converted))
    if not out and errors:
        raise errors[0]
    return out


def _values_of(grid: Grid) -> ColumnValues:
    """The grid's non-empty cells by header, for the evidence headers cannot give."""

    def read(header: str) -> pl.Series:
        values = grid.frame.to_series(grid.headers.index(header)).drop_nulls().str.strip_chars()
        return values.filter(values != "")

    return ColumnValues(read)


def read_canonical_parquet(path: Path) -> tuple[str, pl.DataFrame]:
    """A Parquet file written by `crmkpi convert`: `<table>.parquet` (or `rejects.parquet`),
    already canonical, read as it is."""
    name = path.stem
    if name not in TABLES and name != "rejects":
        raise InputError(
            "a Parquet input must be named after its table",
            path=str(path),
            hint=f"name it {', '.join(TABLES)} or rejects (.parquet)",
        )
    try:
        frame = pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"cannot read Parquet: {exc}", path=str(path)) from exc
    return name, frame


def _restore_converted(
    inputs: list[InputSummary], folders: set[Path], config: Config | None
) -> tuple[list[InputSummary], StageModel | None]:
    """Folders written by `crmkpi convert` carry the original account and stage model."""
    stages = None
    for folder in sorted(folders):
        manifest = read_manifest(folder)
        if manifest is None:
            continue
        ours = [i for i in inputs if i.format == "parquet" and Path(i.path).parent == folder]
        at = inputs.index(ours[0]) if ours else len(inputs)
        inputs = [i for i in inputs if i not in ours]
        inputs[at:at] = [InputSummary(**entry) for entry in manifest.get("inputs", [])]
        st = manifest.get("stages") or {}
        if not (config and config.stages.order) and st.get("order"):
            stages = StageModel(
                order=tuple(st["order"]),
                won=frozenset(st.get("won", ())),
                lost=frozenset(st.get("lost", ())),
                origin=st.get("origin", "history"),
            )
    return inputs, stages


def load(
    paths: Sequence[str | Path],
    config: Config | None = None,
    *,
    strict: bool = False,
    cache: ParseCache | None = None,
    progress: Callable[[int, list[Path]], None] | None = None,
) -> Dataset:
    """Load exports (files or folders, plus config sources) into canonical frames.

    With a `cache`, a file unchanged since an earlier run is not parsed again (crmkpi.io.cache).
    `progress(done, files)` is called before each file and once after the last.
    """
    unused: list[InputError] = []
    found = _collect_files(paths, config, unused)
    files = [(f, source) for f, source, _ in found]
    scanned = {f for f, _, from_folder in found if from_folder}
    if not files:
        raise InputError(
            "no input files",
            hint="give files or folders, or list [sources] in crmkpi.toml",
        )
    by_table: dict[str, list[Part]] = {}
    inputs = []
    rejects = [pl.DataFrame(schema=REJECTS_SCHEMA)]
    first_preset: str | None = None
    converted_folders: set[Path] = set()
    owner_names: dict[str, str] = {}

    def parse(path: Path, source: SourceConfig | None) -> list[tuple[Grid | None, Converted]]:
        with reader_failures(path):  # a panic while converting its columns names the file
            if cache is not None:
                return cached_read(cache, path, source, config, read_file)
            return read_file(path, source, config)

    files = [
        (path, source if path.suffix.lower() == ".parquet" else source or source_for(path, config))
        for path, source in files
    ]
    exports = [(p, s) for p, s in files if p.suffix.lower() != ".parquet"]
    with closing(read_ahead(exports, parse)) as reads:  # a failure stops the reading
        for done, (path, source) in enumerate(files):
            if progress is not None:
                progress(done, [f for f, _ in files])
            if path.suffix.lower() == ".parquet":
                name, frame = read_canonical_parquet(path)
                if name == "rejects":
                    rejects.append(frame.select(list(REJECTS_SCHEMA)).cast(REJECTS_SCHEMA))
                    continue
                mtime = path.stat().st_mtime
                summary = InputSummary(
                    str(path),
                    name,
                    frame.height,
                    frame.height,
                    0,
                    format="parquet",
                    modified_at=mtime,
                )
                by_table.setdefault(name, []).append(Part(frame, summary))
                inputs.append(summary)
                converted_folders.add(path.parent)
                continue
            try:
                parsed = next(reads)()
            except InputError as exc:
                if path not in scanned or source is not None:
                    raise
                # a folder's users file names the owners; its accounts, a data dictionary, an
                # unreadable file: listed, not fatal
                users = _users_file(path, exc, config)
                if users is not None:
                    owner_names.update(users[0])
                    inputs.append(users[1])
                else:
                    unused.append(exc)
                continue
            for _grid, conv in parsed:
                parts = [conv] + ([conv.history] if conv.history is not None else [])
                for part in parts:
                    if strict:
                        strict_check(part)
                    by_table.setdefault(part.table, []).append(Part(part.frame, part.summary))
                    inputs.append(part.summary)
                    rejects.append(part.rejects)
                if conv.table == "deals" and conv.mapping.preset and first_preset is None:
                    first_preset = conv.mapping.preset
            # the file's text cells are no longer needed: free them before the next file is read
            parsed = _grid = conv = None
    if progress is not None:
        progress(len(files), [f for f, _ in files])
    if unused and not by_table:
        raise _nothing_usable(unused)
    frames = {}
    conflicts = []
    rule = config.duplicates_rule if config else "newer"
    for table, parts in by_table.items():
        parts, repeated, conflict = settle(table, parts, rule)
        rejects.append(repeated)
        conflicts += [conflict] if conflict else []
        shown = [p.frame.drop(LINE, strict=False) for p in parts]
        frame = pl.concat(shown, how="diagonal_relaxed") if len(shown) > 1 else shown[0]
        canonical = conform(table, frame.lazy().select(
            [c for c in TABLES[table].names if c in frame.columns])).collect()  # fmt: skip
        extras = frame.select([c for c in frame.columns if c not in TABLES[table].names])
        frames[table] = pl.concat([canonical, extras], how="horizontal")
    frames = apply_links(name_owners(frames, owner_names))
    history = frames.get("stage_history")
    deal_stages: list[str] = []
    if "deals" in frames and "stage" in frames["deals"].columns:
        deal_stages = frames["deals"]["stage"].drop_nulls().unique(maintain_order=True).to_list()
    stage_model = build_stage_model(
        config.stages if config else None,
        presets().get(first_preset) if first_preset else None,
        deal_stages,
        history,
    )
    if converted_folders:
        inputs, restored = _restore_converted(inputs, converted_folders, config)
        stage_model = restored or stage_model
    return Dataset(
        frames=frames,
        inputs=inputs,
        rejects=pl.concat(rejects, how="vertical"),
        stages=stage_model,
        config=config,
        unused=[(str(exc.path), exc.message) for exc in unused],
        conflicts=[c.describe() for c in conflicts],
    )


PARALLEL_MAX_BYTES = 256 * 2**20


def read_ahead(
    files: list[tuple[Path, SourceConfig | None]],
    parse: Callable[[Path, SourceConfig | None], list[tuple[Grid | None, Converted]]],
) -> Iterator[Callable[[], list[tuple[Grid | None, Converted]]]]:
    """Each file's parse, in order, as a call that returns it or raises what it raised.

    A file's parse is half Python, half Polars: two at a time keep two cores busy. That is
    done when every file is delimited text on disk under PARALLEL_MAX_BYTES; otherwise they
    are read one at a time: large files keep the peak memory of one, a workbook's size on disk
    says nothing of what it unpacks to, and a pipe's read timeout must not start while another
    file is being parsed. On an error the caller closes the generator: no further file is
    started, and the one in flight is finished first."""
    if len(files) < 2 or not all(_small_text_file(path) for path, _ in files):
        for path, source in files:
            yield _deferred(parse, path, source)
        return
    waiting = deque(files)
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="crmkpi-read")
    try:
        pending = deque(pool.submit(parse, *waiting.popleft()) for _ in range(2))
        while pending:
            yield pending.popleft().result
            if waiting:  # the caller has taken the last result: start the next file
                pending.append(pool.submit(parse, *waiting.popleft()))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _deferred(
    parse: Callable[[Path, SourceConfig | None], list[tuple[Grid | None, Converted]]],
    path: Path,
    source: SourceConfig | None,
) -> Callable[[], list[tuple[Grid | None, Converted]]]:
    return lambda: parse(path, source)


def _small_text_file(path: Path) -> bool:
    try:
        found = path.stat()
    except OSError:
        return False
    suffix = path.suffix.lower()
    return (
        stat.S_ISREG(found.st_mode)
        and found.st_size <= PARALLEL_MAX_BYTES
        and suffix in TEXT_SUFFIXES
    )


def _users_file(
    path: Path, refused: InputError, config: Config | None
) -> tuple[dict[str, str], InputSummary] | None:
    """The owner names of a users file a folder holds (refused as no KPI's table), with its
    line in the inputs."""
    if not isinstance(refused, UnknownTableError) or not is_users_name(path):
        return None
    found = read_owner_names(path, limits_of(config))
    if not found:
        return None
    names, rows = found
    return names, InputSummary(str(path), "users", rows, rows, 0)


def _nothing_usable(unused: list[InputError]) -> InputError:
    """Why a folder gave no table: the file that came closest to one (a file a name or its
    headers ruled out says less than one lacking a column), and how many others were not used."""
    ruled_out = ("holds ", "not a table", "a history of", "ambiguous", "refers to")
    closest = next((e for e in unused if not e.message.startswith(ruled_out)), unused[0])
    others = len(unused) - 1
    if others:
        closest.hint = (closest.hint + "; " if closest.hint else "") + (
            f"{others} other file{'s' if others > 1 else ''} of the folder not used either"
        )
    return closest
