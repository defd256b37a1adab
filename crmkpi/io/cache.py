"""Cache of parsed canonical tables, so a cron job over an unchanged export skips parsing.

One entry per input file and parse options: the canonical frames the file gave (Parquet) and its
account (JSON). An entry is served only when the file's fingerprint, the crmkpi version and the
parse options all match what it was written from; otherwise the file is parsed again and the entry
replaced, so the cache holds at most one entry per file and options and never grows with runs.

The fingerprint is the trade-off between "never stale" and "cheaper than parsing":

* every file: size and modification time in nanoseconds;
* files up to `full_hash_max_bytes` (64 MiB by default): blake2b of the whole content, so any
  changed byte is seen even when an editor or `touch -r` puts the old size and mtime back
  (hashing runs at ~0.7 GB/s, under 0.1 s for 64 MiB, against seconds of parsing);
* larger files: blake2b of the first and last 64 KiB. A change in the middle of a big file that
  keeps its size *and* its nanosecond mtime is not seen. Exports are rewritten whole by CRMs and
  copy tools, which sets a new mtime, so this only happens when someone edits in place and resets
  the mtime on purpose. Raise `[cache] full_hash_max_mb` (or run `--no-cache`) to rule it out.

Enabled by `--cache` or `[cache] enabled = true`; off unless asked. The folder is `--cache-dir`,
else `[cache] dir`, else `$XDG_CACHE_HOME/crmkpi`, else `~/.cache/crmkpi`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import os
import shutil
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import crmkpi
from crmkpi.dataset import InputSummary
from crmkpi.errors import ConfigError
from crmkpi.io.convert import Converted
from crmkpi.io.mapping import ColumnMatch, Mapping

if TYPE_CHECKING:
    from collections.abc import Callable

    import polars as pl

    from crmkpi.config import Config, SourceConfig

EDGE_BYTES = 64 * 1024
FULL_HASH_MAX_BYTES = 64 * 1024 * 1024
FORMAT_VERSION = 1  # bump when the entry layout changes (entries without a seal are replaced)
_META = "meta.json"
_SETTINGS = {"enabled", "dir", "full_hash_max_mb"}


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "crmkpi"


def file_fingerprint(path: Path, full_hash_max_bytes: int = FULL_HASH_MAX_BYTES) -> str:
    """Size, mtime_ns and a blake2b of the content (whole, or both ends of a large file)."""
    stat = path.stat()
    digest = hashlib.blake2b(digest_size=20)
    with path.open("rb") as fh:
        if stat.st_size <= full_hash_max_bytes:
            mode = "full"
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        else:
            mode = "edges"
            digest.update(fh.read(EDGE_BYTES))
            fh.seek(max(stat.st_size - EDGE_BYTES, 0))
            digest.update(fh.read(EDGE_BYTES))
    return f"{stat.st_size}:{stat.st_mtime_ns}:{mode}:{digest.hexdigest()}"


def _bytes_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def _part_checksum(data: bytes) -> str:
    """A CRC-32 of a stored Parquet part: it is there to see a damaged or edited entry, not to
    resist forgery, and at ~3 GB/s it costs a quarter of a cryptographic hash on each hit."""
    return f"crc32:{zlib.crc32(data):08x}"


def _seal(meta: dict[str, Any]) -> str:
    """A checksum of the entry's account and part list (everything in meta.json but itself)."""
    body = {k: v for k, v in meta.items() if k != "seal"}
    return _bytes_digest(json.dumps(body, sort_keys=True, default=str).encode("utf-8"))


def _sealed(meta: dict[str, Any]) -> bool:
    """The seal matches (an edited or cut part list is seen), and every frame has a checksum."""
    return meta.get("seal") == _seal(meta) and set(meta["frames"]) == set(meta["checksums"])


def _complete(hit: CachedParse) -> bool:
    """Every frame the account's parts name is there, and no other: an entry that lost a part
    would make an input, or some of its rows, vanish without a word."""
    parts = hit.meta.get("parts")
    if not isinstance(parts, list) or not parts:
        return False  # a file that was read always gave at least one table
    needed = {f"{i}-{role}-{kind}" for i, entry in enumerate(parts) for role in entry
              for kind in ("frame", "rejects")}  # fmt: skip
    return needed == set(hit.frames)


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


@functools.cache
def _code_state() -> str:
    """Size and mtime of the code and data files that parse, so an edit of an importer or a
    preset in a development checkout invalidates the cache like a version change does."""
    package = Path(__file__).parents[1]
    parts = [package / "schema.py", package / "dataset.py"]  # io/ below holds this module
    parts += sorted(p for p in (package / "io").rglob("*") if p.suffix in (".py", ".toml"))
    state = [f"{p.relative_to(package)}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in parts]
    return _digest("\n".join(state))


def _version() -> str:
    return f"{crmkpi.__version__}+{_code_state()}"


@dataclass(frozen=True)
class CachedParse:
    """What one file gave when it was parsed: named frames and a JSON-ready account."""

    frames: dict[str, pl.DataFrame]
    meta: dict[str, Any]


@dataclass(frozen=True)
class ParseCache:
    """A folder of parsed files. `lookup` before parsing a file, `store` after."""

    folder: Path
    full_hash_max_bytes: int = FULL_HASH_MAX_BYTES

    def entry_dir(self, path: Path, options: dict[str, Any]) -> Path:
        """Where the entry for this file and these options lives (one per file and options)."""
        ident = json.dumps(
            {"path": str(path.resolve()), "options": options}, sort_keys=True, default=str
        )
        return self.folder / f"v{FORMAT_VERSION}" / _digest(ident)

    def key(self, path: Path, options: dict[str, Any]) -> str:
        """The validity key: file fingerprint + crmkpi version + parse options."""
        return json.dumps(
            {
                "fingerprint": file_fingerprint(path, self.full_hash_max_bytes),
                "version": _version(),
                "options": options,
            },
            sort_keys=True,
            default=str,
        )

    def lookup(self, path: Path, options: dict[str, Any]) -> tuple[str, CachedParse | None]:
        """The key for the file as it is now, and the cached parse when it is still valid.

        Pass the key back to `store`: it was taken before parsing, so a file that changes while
        being read is stored under its old fingerprint and never served for the new content.
        """
        key = self.key(path, options)
        entry = self.entry_dir(path, options)
        try:
            meta = json.loads((entry / _META).read_text(encoding="utf-8"))
            if meta.get("key") != key:
                return key, None
            if not _sealed(meta):
                raise ValueError("entry edited or incomplete")
            import polars as pl

            frames = {}
            for name in meta["frames"]:
                data = (entry / f"{name}.parquet").read_bytes()
                if _part_checksum(data) != meta["checksums"][name]:
                    raise ValueError(f"{name}.parquet changed since it was written")
                frames[name] = pl.read_parquet(io.BytesIO(data))
        except (OSError, ValueError, KeyError, TypeError):
            # absent, damaged or edited entry: dropped, the file parsed again and stored anew
            shutil.rmtree(entry, ignore_errors=True)
            return key, None
        except Exception as exc:  # a truncated Parquet file raises polars' own errors
            if type(exc).__module__.startswith("polars"):
                return key, None
            raise
        return key, CachedParse(frames, meta.get("data", {}))

    def store(
        self,
        path: Path,
        options: dict[str, Any],
        key: str,
        frames: dict[str, pl.DataFrame],
        data: dict[str, Any],
    ) -> bool:
        """Write the entry atomically (temporary folder, then rename); False if it could not be.

        A cache that cannot be written (read-only home, full disk) never fails a report.
        """
        if self.key(path, options) != key:
            return False  # the file changed while it was being parsed
        import polars as pl

        entry = self.entry_dir(path, options)
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=entry.parent))
            try:
                checksums = {}
                for name, frame in frames.items():
                    frame.write_parquet(
                        tmp / f"{name}.parquet", compression="lz4", statistics=False
                    )
                    checksums[name] = _part_checksum((tmp / f"{name}.parquet").read_bytes())
                meta = {"key": key, "frames": list(frames), "data": data, "checksums": checksums}
                meta["seal"] = _seal(meta)
                (tmp / _META).write_text(json.dumps(meta, default=str), encoding="utf-8")
                old = entry.with_name(f".{entry.name}.old.{os.getpid()}")
                if entry.exists():
                    entry.rename(old)
                tmp.rename(entry)
                shutil.rmtree(old, ignore_errors=True)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        except (OSError, pl.exceptions.PolarsError):
            return False
        return True

    def clear(self) -> int:
        """Remove every entry; returns how many there were."""
        root = self.folder / f"v{FORMAT_VERSION}"
        entries = [p for p in root.iterdir() if p.is_dir()] if root.is_dir() else []
        for entry in entries:
            shutil.rmtree(entry, ignore_errors=True)
        return len(entries)


def cache_settings(config: Config | None) -> dict[str, Any]:
    """The validated `[cache]` section of the config (empty when absent)."""
    if config is None:
        return {}
    section = config.raw.get("cache", {})
    where = str(config.path) if config.path else None
    if not isinstance(section, dict):
        raise ConfigError("[cache] must be a table", path=where)
    unknown = sorted(set(section) - _SETTINGS)
    if unknown:
        raise ConfigError(
            f"unknown key cache.{unknown[0]}",
            path=where,
            hint=f"known: {', '.join(sorted(_SETTINGS))}",
        )
    if "enabled" in section and not isinstance(section["enabled"], bool):
        raise ConfigError("cache.enabled must be true or false", path=where)
    if "dir" in section and not isinstance(section["dir"], str):
        raise ConfigError("cache.dir must be a path (a string)", path=where)
    limit = section.get("full_hash_max_mb")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int | float) or limit < 0
    ):
        raise ConfigError("cache.full_hash_max_mb must be a number >= 0", path=where)
    return section


def open_cache(
    config: Config | None,
    enabled: bool | None = None,
    folder: str | Path | None = None,
) -> ParseCache | None:
    """The cache to use, or None: `enabled` (a command-line flag) overrides `[cache] enabled`."""
    settings = cache_settings(config)
    if enabled is None:
        enabled = bool(settings.get("enabled", False))
    if not enabled:
        return None
    if folder is not None:
        where = Path(folder).expanduser()
    elif "dir" in settings:
        where = config.resolve(settings["dir"]) if config else Path(settings["dir"]).expanduser()
    else:
        where = default_cache_dir()
    limit_mb = settings.get("full_hash_max_mb")
    limit = FULL_HASH_MAX_BYTES if limit_mb is None else int(limit_mb * 1024 * 1024)
    return ParseCache(where, limit)


def source_options(source: SourceConfig | None, config: Config | None) -> dict[str, Any]:
    """Everything besides the file that shapes its parse: its source section and the stages."""
    return {
        "source": dataclasses.asdict(source) if source else None,
        "stages": dataclasses.asdict(config.stages) if config else None,
        # "FY2025" is read from the fiscal year's first month
        "fiscal_year_start_month": config.fiscal_year_start_month if config else 1,
    }


def cached_read(
    cache: ParseCache,
    path: Path,
    source: SourceConfig | None,
    config: Config | None,
    read: Callable[..., list[tuple[Any, Converted]]],
) -> list[tuple[Any, Converted]]:
    """`read(path, source, config)` through the cache: the parsed tables of one input file.

    On a hit the grids are not rebuilt (None in their place): loading needs only the converted
    tables. The account is served as it was, with the file named as it is named this time.
    """
    options = source_options(source, config)
    key, hit = cache.lookup(path, options)
    if hit is not None and _complete(hit):
        return [(None, conv) for conv in _restore(hit, str(path))]
    parsed = read(path, source, config)
    frames, data = _pack([conv for _, conv in parsed])
    cache.store(path, options, key, frames, {**data, "display": str(path)})
    return parsed


def _pack(converted: list[Converted]) -> tuple[dict[str, pl.DataFrame], dict[str, Any]]:
    frames: dict[str, pl.DataFrame] = {}
    parts: list[dict[str, Any]] = []
    for i, conv in enumerate(converted):
        entry: dict[str, Any] = {}
        for role, part in (("main", conv), ("history", conv.history)):
            if part is None:
                continue
            frames[f"{i}-{role}-frame"] = part.frame
            frames[f"{i}-{role}-rejects"] = part.rejects
            entry[role] = {
                "table": part.table,
                "summary": dataclasses.asdict(part.summary),
                "preset": part.mapping.preset,
                "matches": [dataclasses.asdict(m) for m in part.mapping.matches],
                "unmapped": list(part.mapping.unmapped),
            }
        parts.append(entry)
    return frames, {"parts": parts}


def _restore(hit: CachedParse, display: str) -> list[Converted]:
    import polars as pl

    stored_display = hit.meta.get("display")
    out = []
    for i, entry in enumerate(hit.meta["parts"]):
        restored: dict[str, Converted] = {}
        for role, info in entry.items():
            summary = InputSummary(**info["summary"])
            rejects = hit.frames[f"{i}-{role}-rejects"]
            if stored_display != display:
                summary.path = display if summary.path == stored_display else summary.path
                rejects = rejects.with_columns(
                    pl.when(pl.col("file") == stored_display)
                    .then(pl.lit(display))
                    .otherwise(pl.col("file"))
                    .alias("file")
                )
            mapping = Mapping(
                info["table"],
                info["preset"],
                tuple(ColumnMatch(**m) for m in info["matches"]),
                tuple(info["unmapped"]),
            )
            restored[role] = Converted(
                info["table"], hit.frames[f"{i}-{role}-frame"], rejects, summary, mapping
            )
        main = restored["main"]
        main.history = restored.get("history")
        out.append(main)
    return out
