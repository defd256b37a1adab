"""The parse cache: served only while the file, version and options are unchanged."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

import crmkpi
from crmkpi.cache import (
    EDGE_BYTES,
    ParseCache,
    cache_settings,
    default_cache_dir,
    file_fingerprint,
    open_cache,
)
from crmkpi.config import Config, parse_config
from crmkpi.errors import ConfigError

OPTIONS = {"table": "deals", "columns": {"id": "Deal ID"}}


def _frames() -> dict[str, pl.DataFrame]:
    return {
        "deals": pl.DataFrame({"id": ["a", "b"], "amount": [1.5, None]}),
        "rejects": pl.DataFrame({"row": [3], "reason": ["bad amount"]}),
    }


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _same_size_edit(path: Path, offset: int) -> None:
    """Flip one byte in place and put the old mtime back, as `touch -r` would."""
    stat = path.stat()
    data = bytearray(path.read_bytes())
    data[offset] = ord("X") if data[offset] != ord("X") else ord("Y")
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    assert path.stat().st_mtime_ns == stat.st_mtime_ns


def test_round_trip_serves_the_same_frames_and_data(tmp_path: Path) -> None:
    src = _write(tmp_path / "deals.csv", b"Deal ID,Amount\na,1.5\nb,\n")
    cache = ParseCache(tmp_path / "cache")
    key, hit = cache.lookup(src, OPTIONS)
    assert hit is None
    assert cache.store(src, OPTIONS, key, _frames(), {"rows_read": 3})
    key2, hit = cache.lookup(src, OPTIONS)
    assert key2 == key
    assert hit is not None
    assert hit.meta == {"rows_read": 3}
    for name, frame in _frames().items():
        assert hit.frames[name].equals(frame)
        assert hit.frames[name].schema == frame.schema


def test_small_file_same_size_and_mtime_change_is_detected(tmp_path: Path) -> None:
    src = _write(tmp_path / "deals.csv", b"Deal ID,Amount\n" + b"a,100\n" * 50_000)
    cache = ParseCache(tmp_path / "cache")
    key, _ = cache.lookup(src, OPTIONS)
    cache.store(src, OPTIONS, key, _frames(), {})
    # A byte in the middle: far from both 64 KiB ends of this 300 KB file.
    _same_size_edit(src, src.stat().st_size // 2)
    _, hit = cache.lookup(src, OPTIONS)
    assert hit is None


def test_large_file_edges_and_mtime_are_checked_but_not_the_middle(tmp_path: Path) -> None:
    """Beyond full_hash_max_bytes only the ends are hashed: the documented trade-off."""
    size = 4 * EDGE_BYTES
    src = _write(tmp_path / "big.csv", b"x" * size)
    cache = ParseCache(tmp_path / "cache", full_hash_max_bytes=1024)

    def stored() -> None:
        key, _ = cache.lookup(src, OPTIONS)
        assert cache.store(src, OPTIONS, key, _frames(), {})

    stored()
    _same_size_edit(src, size // 2)  # middle, same size and mtime: not seen
    assert cache.lookup(src, OPTIONS)[1] is not None
    _same_size_edit(src, 10)  # inside the first 64 KiB
    assert cache.lookup(src, OPTIONS)[1] is None
    stored()
    _same_size_edit(src, size - 10)  # inside the last 64 KiB
    assert cache.lookup(src, OPTIONS)[1] is None
    stored()
    stat = src.stat()
    os.utime(src, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))  # mtime alone
    assert cache.lookup(src, OPTIONS)[1] is None


def test_options_and_version_are_part_of_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _write(tmp_path / "deals.csv", b"Deal ID\na\n")
    cache = ParseCache(tmp_path / "cache")
    key, _ = cache.lookup(src, OPTIONS)
    cache.store(src, OPTIONS, key, _frames(), {})
    assert cache.lookup(src, {**OPTIONS, "columns": {"id": "Other"}})[1] is None
    monkeypatch.setattr(crmkpi, "__version__", crmkpi.__version__ + ".post1")
    assert cache.lookup(src, OPTIONS)[1] is None


def test_file_changed_during_parse_is_not_stored(tmp_path: Path) -> None:
    src = _write(tmp_path / "deals.csv", b"Deal ID\na\n")
    cache = ParseCache(tmp_path / "cache")
    key, _ = cache.lookup(src, OPTIONS)
    src.write_bytes(b"Deal ID\na\nb\n")
    assert cache.store(src, OPTIONS, key, _frames(), {}) is False
    assert cache.lookup(src, OPTIONS)[1] is None


def test_one_entry_per_file_and_options(tmp_path: Path) -> None:
    src = _write(tmp_path / "deals.csv", b"Deal ID\na\n")
    cache = ParseCache(tmp_path / "cache")
    for content in (b"Deal ID\na\n", b"Deal ID\na\nb\n", b"Deal ID\nc\n"):
        src.write_bytes(content)
        key, _ = cache.lookup(src, OPTIONS)
        assert cache.store(src, OPTIONS, key, _frames(), {})
    entries = [p for p in (tmp_path / "cache").rglob("*") if p.is_dir() and p.parent.name == "v1"]
    assert len(entries) == 1
    assert cache.clear() == 1
    assert cache.lookup(src, OPTIONS)[1] is None


def test_damaged_entry_is_a_miss_and_is_replaced(tmp_path: Path) -> None:
    src = _write(tmp_path / "deals.csv", b"Deal ID\na\n")
    cache = ParseCache(tmp_path / "cache")
    key, _ = cache.lookup(src, OPTIONS)
    cache.store(src, OPTIONS, key, _frames(), {})
    parquet = cache.entry_dir(src, OPTIONS) / "deals.parquet"
    parquet.write_bytes(parquet.read_bytes()[:20])
    assert cache.lookup(src, OPTIONS)[1] is None
    assert cache.store(src, OPTIONS, key, _frames(), {})
    assert cache.lookup(src, OPTIONS)[1] is not None


def test_unwritable_cache_never_fails(tmp_path: Path) -> None:
    src = _write(tmp_path / "deals.csv", b"Deal ID\na\n")
    blocker = _write(tmp_path / "not-a-folder", b"")
    cache = ParseCache(blocker / "cache")
    key, hit = cache.lookup(src, OPTIONS)
    assert hit is None
    assert cache.store(src, OPTIONS, key, _frames(), {}) is False


def test_fingerprint_distinguishes_full_and_edge_hashing(tmp_path: Path) -> None:
    src = _write(tmp_path / "f.csv", b"abc")
    assert ":full:" in file_fingerprint(src)
    assert ":edges:" in file_fingerprint(src, full_hash_max_bytes=2)
    assert file_fingerprint(src).startswith("3:")


def _config(tmp_path: Path, section: object) -> Config:
    return parse_config({"cache": section}, tmp_path / "crmkpi.toml")


def test_settings_and_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "crmkpi"
    assert open_cache(Config()) is None  # off unless asked
    assert open_cache(Config(), enabled=True).folder == tmp_path / "xdg" / "crmkpi"
    config = _config(tmp_path, {"enabled": True, "dir": "kept", "full_hash_max_mb": 1})
    cache = open_cache(config)
    assert cache.folder == tmp_path / "kept"  # relative to the config file's folder
    assert cache.full_hash_max_bytes == 1024 * 1024
    assert open_cache(config, enabled=False) is None  # --no-cache wins
    assert open_cache(config, folder=tmp_path / "flag").folder == tmp_path / "flag"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "crmkpi"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"enabled": "yes"}, "cache.enabled must be true or false"),
        ({"dir": 3}, "cache.dir must be a path"),
        ({"full_hash_max_mb": -1}, "cache.full_hash_max_mb must be a number"),
        ({"size": 1}, "unknown key cache.size"),
        ("on", "[cache] must be a table"),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, section: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")) as exc:
        cache_settings(Config(path=tmp_path / "crmkpi.toml", raw={"cache": section}))
    assert exc.value.path == str(tmp_path / "crmkpi.toml")
