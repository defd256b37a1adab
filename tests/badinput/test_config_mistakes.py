"""Mistakes in crmkpi.toml: each one line naming the file and the key, exit 2, never a raw error.

Before the schema, `amountt` and `delimeter` passed silently (the amount column was lost),
`change_threshold = nan` turned change alerts off, and a UTF-16 file, a 5,000-deep array or
`header_row = 0` ended in raw exceptions.
"""

from __future__ import annotations

import json
from pathlib import Path

import badinput_corpus as corpus
import pytest
from typer.testing import CliRunner

from crmkpi.cli import app

SOURCE = '[sources.deals]\npath = "deals.csv"\n'


@pytest.fixture(autouse=True)
def _in_test_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    corpus.deals_csv(tmp_path, corpus.GOOD_ROWS)


def _report(tmp_path: Path, config: str | bytes) -> tuple[int, str, str]:
    path = tmp_path / "crmkpi.toml"
    if isinstance(config, str):
        path.write_text(config, encoding="utf-8")
    else:
        path.write_bytes(config)
    result = CliRunner().invoke(app, ["report", "--format", "json"])
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("config", "words"),
    [
        (SOURCE + '[sources.deals.columns]\namountt = "Amount"\n',
         ("sources.deals.columns.amountt", "did you mean 'amount'")),
        (SOURCE + '[sources.deals.parse]\ndelimeter = ","\n',
         ("sources.deals.parse.delimeter", "did you mean 'delimiter'")),
        (SOURCE + '[sources.deals.parse]\nencodng = "utf-8"\n',
         ("sources.deals.parse.encodng", "did you mean 'encoding'")),
        (SOURCE + '[sources.deals.parse]\nencoding = "utf-9"\n',
         ("sources.deals.parse.encoding", "unknown encoding 'utf-9'")),
        (SOURCE + '[sources.deals.parse]\ndelimiter = "é"\n',
         ("sources.deals.parse.delimiter", "one-byte")),
        (SOURCE + "[sources.deals.parse]\nheader_row = 0\n",
         ("sources.deals.parse.header_row", "at least 1, got 0")),
        (SOURCE + '[sources.deals.parse]\ndate_order = "dym"\n',
         ("sources.deals.parse.date_order", "dmy, mdy, ymd")),
        (SOURCE + '[sources.deals.parse]\ncalendar = "mayan"\n',
         ("sources.deals.parse.calendar", "'mayan'")),
        (SOURCE + "[sources.deals.columns]\namount = 5\n",
         ("sources.deals.columns.amount", "must be a string, got 5")),
        (SOURCE.replace('"deals.csv"', '["deals.csv"]'),
         ("sources.deals.path", "must be a string")),
        ("[quota]\nmonth = -5\n", ("quota.month", "0 or more, got -5")),
        ("[alerts]\nchange_threshold = nan\n", ("alerts.change_threshold", "finite")),
        ("[alerts]\nmax_file_age_days = inf\n", ("alerts.max_file_age_days", "finite")),
        ('[leads.working_hours]\ntimezone = "Europe/Atlantis"\n',
         ("leads.working_hours.timezone", "unknown time zone 'Europe/Atlantis'")),
        ('[leads.working_hours]\ndata_timezone = "../../etc/passwd"\n',
         ("leads.working_hours.data_timezone", "unknown time zone")),
        ('[periods]\nweek_start = ["monday"]\n', ("periods.week_start", "must be a string")),
        ("[limits]\nmax_cells = 0\n", ("limits.max_cells", "at least 1")),
        ("[limits]\nmax_cels = 10\n", ("limits.max_cels", "did you mean 'max_cells'")),
        ("x = " + "[" * 5000 + "]" * 5000 + "\n", ("nested too deeply",)),
        # `title = "caf` is 12 bytes: the Latin-1 é is byte 13
        (b"title = \"caf\xe9\"\n", ("not UTF-8", "byte 13")),
    ],
    ids=lambda v: v[0] if isinstance(v, tuple) else None,
)  # fmt: skip
def test_a_config_mistake_is_one_line_naming_the_key(
    tmp_path: Path, config: str | bytes, words: tuple[str, ...]
) -> None:
    code, _, stderr = _report(tmp_path, config)
    assert code == 2, stderr
    (line,) = stderr.strip().splitlines()
    assert line.startswith(f"crmkpi: error: {tmp_path / 'crmkpi.toml'}: "), line
    for word in words:
        assert word in line, line


def test_a_utf16_config_is_read(tmp_path: Path) -> None:
    """Notepad's "Unicode" is UTF-16 with a BOM: the mapping in it is used."""
    # The amount header is renamed to one no alias knows: only the config's mapping finds it.
    csv = tmp_path / "deals.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace("Amount", "Wert"), encoding="utf-8")
    config = SOURCE + '[sources.deals.columns]\namount = "Wert"\n'
    code, stdout, stderr = _report(tmp_path, config.encode("utf-16"))
    assert code == 0, stderr
    doc = json.loads(stdout)
    assert doc["kpis"]["revenue_won"]["value"] == 1000  # D1, the only won deal, 1000 in "Wert"


def test_a_literal_path_with_brackets_is_not_a_glob(tmp_path: Path) -> None:
    """`deals[2024].csv` names a file; as a glob it would match deals2.csv, deals0.csv..."""
    corpus.deals_csv(tmp_path, corpus.GOOD_ROWS[:1], name="deals[2024].csv")
    corpus.deals_csv(tmp_path, corpus.GOOD_ROWS, name="deals2.csv")  # what the glob matches
    config = '[sources.deals]\npath = "deals[2024].csv"\n'
    (tmp_path / "deals.csv").unlink()
    code, stdout, stderr = _report(tmp_path, config)
    assert code == 0, stderr
    doc = json.loads(stdout)
    assert [Path(i["path"]).name for i in doc["inputs"]] == ["deals[2024].csv"]
    assert doc["kpis"]["deals_total"]["value"] == 1  # only D1 is in deals[2024].csv
