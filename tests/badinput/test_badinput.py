"""Every file of the bad-input corpus through `crmkpi report`: no crash, no traceback.

Each either fails with exit code 2 and one stderr line naming the file, or gives a report in
which every row is accounted for (rows_read = rows_loaded + rows_rejected) and the problem is
counted and named (a rejected row, a flagged cell, an alert, a KPI's reason).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import badinput_corpus as corpus
import pytest
from typer.testing import CliRunner

from crmkpi.cli import app


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        assert self.code == 0, self.stderr
        return json.loads(self.stdout)


def run_report(target: Path, *extra: str) -> Outcome:
    result = CliRunner().invoke(app, ["report", str(target), "--format", "json", *extra])
    outcome = Outcome(result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in outcome.stdout + outcome.stderr
    assert outcome.code in (0, 2), outcome.stderr or repr(result.exception)
    if outcome.code == 0:
        for item in outcome.report["inputs"]:
            assert item["rows_read"] == item["rows_loaded"] + item["rows_rejected"], item
    return outcome


def assert_refused(outcome: Outcome, path: Path, *words: str) -> str:
    """Exit 2 with exactly one line that names the file and says what is wrong."""
    assert outcome.code == 2, outcome.stdout[:500]
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1, outcome.stderr
    line = lines[0]
    assert line.startswith("crmkpi: error: ")
    assert str(path) in line
    for word in words:
        assert word in line, line
    return line


def alerts(doc: dict[str, Any]) -> list[str]:
    return [a["message"] for a in doc["alerts"]]


def read_rejects(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(autouse=True)
def _no_project_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the test's folder, so no crmkpi.toml of the checkout is picked up."""
    monkeypatch.chdir(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    path = corpus.empty(tmp_path)
    assert_refused(run_report(path), path, "empty")


def test_header_only_gives_an_empty_report_that_says_so(tmp_path: Path) -> None:
    doc = run_report(corpus.header_only(tmp_path)).report
    assert [(i["rows_read"], i["rows_loaded"]) for i in doc["inputs"]] == [(0, 0)]
    assert doc["kpis"]["deals_total"]["value"] is None
    assert "empty" in doc["kpis"]["deals_total"]["reason"]


@pytest.mark.parametrize("build", [corpus.binary_garbage, corpus.pdf_renamed])
def test_not_a_table(tmp_path: Path, build: Any) -> None:
    path = build(tmp_path)
    assert_refused(run_report(path), path, "not a table")


def test_truncated_xlsx(tmp_path: Path) -> None:
    path = corpus.truncated_xlsx(tmp_path)
    assert_refused(run_report(path), path, "damaged xlsx")


@pytest.mark.parametrize(
    ("build", "words"),
    [
        (corpus.xlsx_zip_bomb, ("zip bomb",)),
        (corpus.xlsx_lying_zip_bomb, ("declares 1,024 bytes but unpacks to more",)),
        (corpus.xml_entity_bomb, ("XML entities",)),
    ],
)
def test_bombs_are_refused_before_any_reader_unpacks_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, build: Any, words: tuple[str, ...]
) -> None:
    import fastexcel

    def reader_reached(*_: object, **__: object) -> None:
        raise AssertionError("the workbook reached the XLSX reader")

    monkeypatch.setattr(fastexcel, "read_excel", reader_reached)
    path = build(tmp_path)
    assert_refused(run_report(path), path, *words)


def test_a_valid_workbook_passes_the_archive_checks(tmp_path: Path) -> None:
    doc = run_report(corpus.valid_xlsx(tmp_path)).report
    # Control for the bomb tests: the same checks let a real workbook through.
    assert doc["kpis"]["deals_total"]["value"] == 3  # three rows in GOOD_ROWS
    assert doc["kpis"]["revenue_won"]["value"] == 1000  # D1 is the only won deal


def test_bombs_keep_memory_bounded(tmp_path: Path) -> None:
    """In a fresh process, so the peak resident size is this refusal's alone."""
    bomb = corpus.xlsx_zip_bomb(tmp_path)  # unpacks to 1 GiB
    (tmp_path / "entities").mkdir()
    entities = corpus.xml_entity_bomb(tmp_path / "entities")
    (tmp_path / "lying").mkdir()
    lying = corpus.xlsx_lying_zip_bomb(tmp_path / "lying")  # 1 GiB declared as 1 KiB
    script = (
        "import resource, sys\n"
        "from crmkpi.cli import app\n"
        "for target in sys.argv[1:]:\n"
        "    try:\n"
        "        app(['report', target, '--format', 'json'])\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code == 2, exc.code\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(bomb), str(entities), str(lying)],
        capture_output=True, text=True, cwd=tmp_path, check=True,
    )  # fmt: skip
    peak_mb = int(out.stdout.strip().splitlines()[-1]) / 1024
    assert peak_mb < 400, f"peak RSS {peak_mb:.0f} MB"  # the bomb alone would be 1,024 MB
    assert out.stderr.count("crmkpi: error:") == 3


def test_a_50_mb_cell_is_kept_whole(tmp_path: Path) -> None:
    """Through the API (the CLI would print the 50 MB name back in the stuck-deals table)."""
    import crmkpi.api as api

    ds = api.load(corpus.huge_cell(tmp_path))
    (item,) = ds.inputs
    assert (item.rows_read, item.rows_loaded, item.rows_rejected) == (2, 2, 0)
    names = ds.frames["deals"]["name"].str.len_bytes().to_list()
    assert sorted(names) == [5, 50 * 1024 * 1024]  # "Alpha" and the 50 MiB cell
    report = api.report(ds)
    assert report.kpis["deals_total"].value == 2


def test_ragged_rows_short_row_rejected_with_its_line(tmp_path: Path) -> None:
    path = corpus.ragged_rows(tmp_path)
    doc = run_report(path, "--rejects", str(tmp_path / "rejects.csv")).report
    (item,) = doc["inputs"]
    # 4 data rows: D2 (line 3) lacks its dates and owner, which a deal can do without: all load
    assert (item["rows_read"], item["rows_loaded"], item["rows_rejected"]) == (4, 4, 0)
    rejects = read_rejects(tmp_path / "rejects.csv")
    # D3 on line 4 carries two cells beyond the header, its own all readable: kept, flagged
    assert [(r["row"], r["action"]) for r in rejects] == [("4", "flagged")]


def test_ragged_rows_extra_cells_are_flagged(tmp_path: Path) -> None:
    path = corpus.ragged_rows(tmp_path)
    run_report(path, "--rejects", str(tmp_path / "rejects.csv"))
    rejects = read_rejects(tmp_path / "rejects.csv")
    assert any(r["row"] == "4" for r in rejects)  # D3 carries two cells with no header


def test_mixed_types_flag_cells_and_reject_rows_without_a_date(tmp_path: Path) -> None:
    path = corpus.mixed_types(tmp_path)
    doc = run_report(path, "--rejects", str(tmp_path / "rejects.csv")).report
    (item,) = doc["inputs"]
    # D3 'yesterday' as create date, 'two hundred' and 'TRUE' as amounts: cells a deal can do
    # without, so each is flagged and set empty, and every row stays.
    assert (item["rows_read"], item["rows_loaded"], item["rows_rejected"]) == (4, 4, 0)
    assert item["cells_flagged"] == {"amount": 2, "created_at": 1}
    rejects = read_rejects(tmp_path / "rejects.csv")
    flagged = {r["value"]: (r["row"], r["column"]) for r in rejects if r["action"] == "flagged"}
    assert flagged == {
        "two hundred": ("3", "Amount"),
        "yesterday": ("4", "Create Date"),
        "TRUE": ("5", "Amount"),
    }
    assert not [r for r in rejects if r["action"] == "rejected"]
    assert not any("rows rejected" in a for a in alerts(doc))


def test_every_date_and_number_unparseable(tmp_path: Path) -> None:
    path = corpus.unparseable_dates_and_numbers(tmp_path)
    doc = run_report(path).report
    (item,) = doc["inputs"]
    # each deal has its id and stage: the deals count, every unreadable cell is flagged
    assert (item["rows_read"], item["rows_loaded"], item["rows_rejected"]) == (3, 3, 0)
    assert item["cells_flagged"] == {"amount": 3, "created_at": 3, "closed_at": 2}
    assert doc["kpis"]["deals_total"]["value"] == 3


def test_duplicate_headers_use_the_first_and_keep_the_second(tmp_path: Path) -> None:
    import crmkpi.api as api

    path = corpus.duplicate_headers(tmp_path)
    doc = run_report(path).report
    assert doc["inputs"][0]["columns"]["amount"] == "Amount"
    assert doc["kpis"]["revenue_won"]["value"] == 1000  # first Amount of the won deal D1
    frame = api.load(path).frames["deals"]
    extra = [c for c in frame.columns if c.startswith("Amount")]
    assert len(extra) == 1 and frame[extra[0]].to_list() == ["1100", "260"]


def test_duplicate_ids_are_named(tmp_path: Path) -> None:
    path = corpus.duplicate_ids(tmp_path)
    doc = run_report(path).report
    assert doc["kpis"]["deals_total"]["value"] == 4  # kept: which copy is right is unknown
    assert f"{path}: 2 deals sharing an id with another row of the same file" in alerts(doc)


def test_negative_and_absurd_amounts_are_named(tmp_path: Path) -> None:
    path = corpus.absurd_amounts(tmp_path)
    doc = run_report(path).report
    assert f"{path}: 1 deals with a negative amount" in alerts(doc)
    outliers = {row["id"] for row in doc["tables"]["deal_size_outliers"]}
    assert "D3" in outliers  # 1e300


def test_closed_before_created_is_named(tmp_path: Path) -> None:
    path = corpus.closed_before_created(tmp_path)
    doc = run_report(path).report
    assert f"{path}: 1 deals closed before they were created" in alerts(doc)


def test_future_dates_are_named(tmp_path: Path) -> None:
    path = corpus.future_dates(tmp_path)
    doc = run_report(path).report
    assert f"{path}: 1 deals created or closed after today" in alerts(doc)


def test_stage_history_for_unknown_deals_is_named(tmp_path: Path) -> None:
    folder = corpus.history_for_unknown_deals(tmp_path)
    doc = run_report(folder).report
    history = folder / "stage_history.csv"
    # X404 and X405 are in the history but not among D1..D3.
    assert f"{history}: 2 stage-history rows of deal ids absent from the deals" in alerts(doc)


def test_mixed_currencies_are_never_added_up(tmp_path: Path) -> None:
    doc = run_report(corpus.mixed_currencies(tmp_path)).report
    revenue = doc["kpis"]["revenue_won"]
    assert revenue["value"] is None
    assert "mixed currencies" in revenue["reason"]
    assert revenue["by_currency"] == {"EUR": 250, "USD": 1000, "XYZ": 400}


def test_a_file_changing_while_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = corpus.deals_csv(tmp_path, corpus.GOOD_ROWS)
    original = Path.read_bytes

    def read_while_appended(self: Path) -> bytes:
        data = original(self)
        if self == path:  # the exporter is still writing
            with self.open("a", encoding="utf-8") as fh:
                fh.write("D9,Late,Proposal,1,USD,2024-03-01,,Ann\n")
            stat = self.stat()
            os.utime(self, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
        return data

    monkeypatch.setattr(Path, "read_bytes", read_while_appended)
    assert_refused(run_report(path), path, "changed while being read")
