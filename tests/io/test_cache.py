"""The parse cache: served only while the file, version and options are unchanged."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

import crmkpi
from crmkpi.config import Config, parse_config
from crmkpi.errors import ConfigError
from crmkpi.io.cache import (
    EDGE_BYTES,
    ParseCache,
    cache_settings,
    default_cache_dir,
    file_fingerprint,
    open_cache,
)

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


DEALS_CSV = (
    "Deal ID,Deal Name,Deal Stage,Amount,Create Date,Close Date\n"
    "D1,Alpha,Closed Won,1000,2024-01-05,2024-02-01\n"
    "D2,Beta,Closed Lost,250,2024-01-10,2024-01-20\n"
    "D3,Gamma,Proposal,400,2024-02-01,\n"
)


def _load(folder: Path, cache_dir: Path):  # noqa: ANN202
    import crmkpi.api as api

    return api.load(folder / "deals.csv", config=Config(), cache=True, cache_dir=cache_dir)


def test_load_serves_unchanged_files_without_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import crmkpi.io.load as io_load

    (tmp_path / "deals.csv").write_text(DEALS_CSV, encoding="utf-8")
    first = _load(tmp_path, tmp_path / "cache")

    def no_parse(*_: object, **__: object) -> None:
        raise AssertionError("parsed although the file did not change")

    monkeypatch.setattr(io_load, "read_file", no_parse)
    second = _load(tmp_path, tmp_path / "cache")
    assert second.frames.keys() == first.frames.keys()
    for name, frame in first.frames.items():
        assert second.frames[name].equals(frame)
        assert second.frames[name].schema == frame.schema
    assert [i.to_json() for i in second.inputs] == [i.to_json() for i in first.inputs]
    assert second.rejects.equals(first.rejects)
    assert second.stages == first.stages


def test_load_sees_a_same_size_edit_with_the_old_mtime(tmp_path: Path) -> None:
    src = tmp_path / "deals.csv"
    src.write_text(DEALS_CSV, encoding="utf-8")
    before = _load(tmp_path, tmp_path / "cache")
    # 1000 -> 9000: same length, so same size; mtime put back as a careful editor would.
    stat = src.stat()
    src.write_text(DEALS_CSV.replace("Won,1000", "Won,9000"), encoding="utf-8")
    os.utime(src, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    after = _load(tmp_path, tmp_path / "cache")
    amounts = lambda ds: sorted(ds.frames["deals"]["amount"].to_list())  # noqa: E731
    assert amounts(before) == [250.0, 400.0, 1000.0]
    assert amounts(after) == [250.0, 400.0, 9000.0]


def test_cli_cache_flag_writes_entries_only_when_asked(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from crmkpi.cli import app

    (tmp_path / "deals.csv").write_text(DEALS_CSV, encoding="utf-8")
    args = ["report", str(tmp_path / "deals.csv"), "--format", "json"]
    runner = CliRunner()
    off = runner.invoke(app, [*args, "--cache-dir", str(tmp_path / "c1")])
    assert off.exit_code == 0, off.output
    assert not (tmp_path / "c1").exists()  # off by default
    on = runner.invoke(app, [*args, "--cache", "--cache-dir", str(tmp_path / "c2")])
    assert on.exit_code == 0, on.output
    assert len(list((tmp_path / "c2" / "v1").iterdir())) == 1


def test_folder_with_wide_history_and_bad_rows_round_trips(tmp_path: Path) -> None:
    """Deals with HubSpot's date-entered columns (a second, derived table), a rejected row and a
    flagged cell, plus a long stage history file: everything served equals everything parsed."""
    (tmp_path / "deals.csv").write_text(
        "Deal ID,Deal Name,Deal Stage,Amount,Create Date,Close Date,"
        'Date entered "Qualified To Buy (Sales Pipeline)",'
        'Date entered "Closed Won (Sales Pipeline)"\n'
        "D1,Alpha,closedwon,1000,2024-01-05,2024-02-01,2024-01-06,2024-02-01\n"
        "D2,Beta,qualifiedtobuy,lots,2024-01-10,,2024-01-11,\n"
        "D3,Gamma,qualifiedtobuy,5,not a date,,,\n",
        encoding="utf-8",
    )
    (tmp_path / "stage_history.csv").write_text(
        "Deal ID,Stage,Entered At\nD1,qualifiedtobuy,2024-01-06\nD1,closedwon,2024-02-01\n",
        encoding="utf-8",
    )
    import crmkpi.api as api

    def load():  # noqa: ANN202
        return api.load(tmp_path, config=Config(), cache=True, cache_dir=tmp_path / "cache")

    first, second = load(), load()
    assert sorted(first.frames) == ["deals", "stage_history"]
    # deals.csv gives deals and, from its date-entered columns, stage history; plus the file.
    assert sorted((Path(i.path).name, i.table) for i in first.inputs) == [
        ("deals.csv", "deals"), ("deals.csv", "stage_history"),
        ("stage_history.csv", "stage_history"),
    ]  # fmt: skip
    assert first.rejects.height >= 2  # 'lots' flagged, 'not a date' rejected
    for name, frame in first.frames.items():
        assert second.frames[name].equals(frame), name
    assert [i.to_json() for i in second.inputs] == [i.to_json() for i in first.inputs]
    assert second.rejects.equals(first.rejects)
    assert second.stages == first.stages
    entries = list((tmp_path / "cache" / "v1").iterdir())
    assert len(entries) == 2  # one per file; the cache folder itself is not read as input


def test_a_part_edited_in_place_is_a_miss(tmp_path: Path) -> None:
    """One byte of a stored part changed, its length kept: the part's checksum sees it."""
    src = _write(tmp_path / "deals.csv", b"Deal ID\na\n")
    cache = ParseCache(tmp_path / "cache")
    key, _ = cache.lookup(src, OPTIONS)
    frames = {"deals": pl.DataFrame({"id": ["needle-0001"]})}
    assert cache.store(src, OPTIONS, key, frames, {})
    parquet = cache.entry_dir(src, OPTIONS) / "deals.parquet"
    data = parquet.read_bytes()
    assert data.count(b"needle-0001") == 1  # the text is stored as it is (uncompressed literal)
    parquet.write_bytes(data.replace(b"needle-0001", b"needle-0009"))
    # the edited part still reads as Parquet: only the checksum tells it from the stored one
    assert pl.read_parquet(parquet)["id"].to_list() == ["needle-0009"]
    assert cache.lookup(src, OPTIONS)[1] is None
