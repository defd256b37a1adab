"""A parse-cache entry is checked before it is served: an edited Parquet or a cut part list is
dropped and the file read again (before: revenue x1000 was served, an input vanished)."""

from __future__ import annotations

import json
from pathlib import Path

import badinput_corpus as corpus
import polars as pl
import pytest

import crmkpi.api as api
from crmkpi.config import Config


def _load(folder: Path) -> api.Dataset:
    return api.load(folder / "deals.csv", config=Config(), cache=True, cache_dir=folder / "cache")


def _entry(folder: Path) -> Path:
    (entry,) = [p for p in (folder / "cache" / "v1").iterdir() if p.is_dir()]
    return entry


def _revenue(ds: api.Dataset) -> float | None:
    return api.report(ds).kpis["revenue_won"].value


def test_an_edited_parquet_is_not_served(tmp_path: Path) -> None:
    corpus.deals_csv(tmp_path, corpus.GOOD_ROWS)
    assert _revenue(_load(tmp_path)) == 1000  # D1, the only won deal
    frame_file = _entry(tmp_path) / "0-main-frame.parquet"
    edited = pl.read_parquet(frame_file).with_columns(pl.col("amount") * 1000)
    edited.write_parquet(frame_file)  # a valid Parquet, only the numbers changed
    ds = _load(tmp_path)
    assert _revenue(ds) == 1000  # read again from deals.csv, not 1,000,000 from the entry
    assert ds.inputs[0].rows_loaded == 3


def test_an_emptied_part_list_does_not_make_the_input_vanish(tmp_path: Path) -> None:
    corpus.deals_csv(tmp_path, corpus.GOOD_ROWS)
    _load(tmp_path)
    meta_file = _entry(tmp_path) / "meta.json"
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    meta["data"]["parts"] = []
    meta["frames"] = []
    meta_file.write_text(json.dumps(meta), encoding="utf-8")
    ds = _load(tmp_path)
    assert [(i.rows_read, i.rows_loaded) for i in ds.inputs] == [(3, 3)]
    assert ds.frames["deals"].height == 3


def test_a_checked_entry_is_still_served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: an untouched entry is served without parsing."""
    import crmkpi.io.load as io_load

    corpus.deals_csv(tmp_path, corpus.GOOD_ROWS)
    _load(tmp_path)

    def no_parse(*_: object, **__: object) -> None:
        raise AssertionError("parsed although the entry was intact")

    monkeypatch.setattr(io_load, "read_file", no_parse)
    assert _revenue(_load(tmp_path)) == 1000
