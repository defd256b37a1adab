"""`crmkpi metric`, `query`, `tables`, `convert`, `explain` and shell completion, end to end
from a small CRM-like CSV export written here (or sample_data/ when it is there)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

import crmkpi
from crmkpi.cli import app

REPO = Path(__file__).resolve().parents[2]

# Closed deals per owner and quarter, worked out by hand:
#   Ana  2025-Q1: D1 won, D2 lost -> 0.5      2025-Q2: D3 won -> 1.0
#   Bo   2025-Q1: D6 lost -> 0.0              2025-Q2: D4 won, D5 lost -> 0.5   (D7 open)
#   Cy   2025-Q2: D8 won -> 1.0               2025-Q3: D9 lost -> 0.0
DEALS_CSV = """Deal ID,Deal Owner,Source,Status,Amount,Create Date,Close Date
D1,Ana,Referral,won,12000,2025-01-05,2025-02-10
D2,Ana,Web,lost,5000,2025-01-07,2025-03-01
D3,Ana,Web,won,3000,2025-03-20,2025-04-02
D4,Bo,Referral,won,20000,2025-02-01,2025-04-15
D5,Bo,Web,lost,7000,2025-02-10,2025-05-20
D6,Bo,Web,lost,1000,2025-01-11,2025-01-30
D7,Bo,Event,open,9000,2025-03-01,
D8,Cy,Referral,won,,2025-04-01,2025-06-30
D9,Cy,Web,lost,2500,2025-04-03,2025-07-01
"""
BY_HAND = {
    ("Ana", "2025-01-01"): 0.5,
    ("Ana", "2025-04-01"): 1.0,
    ("Bo", "2025-01-01"): 0.0,
    ("Bo", "2025-04-01"): 0.5,
    ("Cy", "2025-04-01"): 1.0,
    ("Cy", "2025-07-01"): 0.0,
}
WIN_RATE_SQL = """
SELECT owner,
       EXTRACT(year FROM closed_at) AS y,
       EXTRACT(quarter FROM closed_at) AS q,
       CAST(SUM(CASE WHEN status = 'won' THEN 1 ELSE 0 END) AS DOUBLE) / COUNT(*) AS win_rate
FROM deals
WHERE status IN ('won', 'lost') AND closed_at IS NOT NULL
GROUP BY owner, y, q
ORDER BY owner, y, q
"""

runner = CliRunner()


def run(*args: str, code: int = 0):  # noqa: ANN201
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "deals.csv").write_text(DEALS_CSV, encoding="utf-8")
    return folder


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def quarter_key(year: int, quarter: int) -> str:
    return datetime(year, 3 * (quarter - 1) + 1, 1).date().isoformat()


def quarter_start(label: str) -> str:
    """2025-Q2 (as the report and `metric` label a quarter) -> 2025-04-01."""
    year, quarter = label.split("-Q")
    return quarter_key(int(year), int(quarter))


def three_ways(folder: Path) -> tuple[dict, dict, dict]:
    """Win rate per owner per quarter from the CLI, the Python API and hand-written SQL."""
    out = run("metric", "win_rate", str(folder), "--by", "owner", "--period", "quarter",
              "-f", "csv").stdout  # fmt: skip
    cli = {
        (r["owner"], quarter_start(r["period"])): float(r["win_rate"])
        for r in csv_rows(out)
        if r["win_rate"]
    }
    ds = crmkpi.load(folder)
    frame = crmkpi.metric(ds, "win_rate", by="owner", period="quarter")
    api = {
        (r["owner"], r["period"].date().isoformat()): r["win_rate"]
        for r in frame.iter_rows(named=True)
        if r["win_rate"] is not None
    }
    sql_out = run("query", WIN_RATE_SQL, str(folder), "-f", "json").stdout
    sql = {
        (r["owner"], quarter_key(r["y"], r["q"])): r["win_rate"]
        for r in json.loads(sql_out)["rows"]
    }
    return cli, api, sql


def test_win_rate_is_the_same_from_cli_api_and_sql(exports: Path) -> None:
    cli, api, sql = three_ways(exports)
    assert sql == BY_HAND
    assert api == BY_HAND
    assert cli == BY_HAND  # CSV writes floats in full (repr), so equality is exact


@pytest.mark.skipif(
    not any((REPO / "sample_data").glob("deals*")), reason="sample_data has no deals export yet"
)
def test_win_rate_is_the_same_three_ways_on_the_sample_data() -> None:
    cli, api, sql = three_ways(REPO / "sample_data")
    assert sql  # the demo company has closed deals
    assert cli == api == sql


REALDATA = os.environ.get("CRMKPI_REALDATA")


@pytest.mark.skipif(not REALDATA, reason="set CRMKPI_REALDATA to the real exports folder")
def test_win_rate_is_the_same_three_ways_on_a_real_pipeline_export() -> None:
    export = Path(REALDATA or ".") / "maven_crm" / "sales_pipeline.csv"
    if not export.is_file():
        pytest.skip("maven_crm/sales_pipeline.csv is not in CRMKPI_REALDATA")
    cli, api, sql = three_ways(export)
    assert len(sql) > 10  # dozens of agents over several quarters
    assert cli == api == sql


def test_metric_formats(exports: Path) -> None:
    data = json.loads(run("metric", "win_rate", "deals_won", str(exports), "--by", "owner",
                          "-f", "json").stdout)  # fmt: skip
    rows = {r["owner"]: r for r in data["metrics"]}
    # By hand over every quarter: Ana 2 won / 3 closed, Bo 1 / 3, Cy 1 / 2.
    assert rows["Ana"]["win_rate"] == pytest.approx(2 / 3)
    assert rows["Bo"]["deals_won"] == 1
    assert rows["Cy"]["win_rate"] == 0.5
    md = run("metric", "win_rate", str(exports), "--by", "owner", "-f", "markdown").stdout
    assert md.splitlines()[0] == "| owner | win_rate |"
    assert "| Ana | 66.7% |" in md
    text = run("metric", "win_rate", str(exports), "--by", "owner").stdout
    assert "Cy" in text and "50.0%" in text


def test_metric_where_and_window(exports: Path) -> None:
    out = run("metric", "win_rate", str(exports), "--where", 'source = "Web"', "-f", "csv").stdout
    # Web deals closed: D2 lost, D3 won, D5 lost, D6 lost, D9 lost -> 1 / 5.
    assert csv_rows(out) == [{"win_rate": "0.2"}]
    out = run("metric", "win_rate", str(exports), "--since", "2025-04-01", "--until",
              "2025-07-01", "-f", "csv").stdout  # fmt: skip
    # Closed in Q2: D3, D4, D8 won, D5 lost -> 3 / 4.
    assert csv_rows(out) == [{"win_rate": "0.75"}]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["metric", "win_rat"], "unknown KPI or table id 'win_rat' (did you mean win_rate"),
        (["metric", "win_rate", "--where", "amount >"], "position 9"),
        (["metric", "win_rate", "--where", 'region = "EU"'], "deals has no column 'region'"),
        (["metric", "win_rate", "--period", "fortnight"], "unknown period 'fortnight'"),
        (["metric", "win_rate", "--by", "region"], "region"),
        (["metric", "win_rate", "no/such/folder"], "no/such/folder: no such file or folder"),
        (["query", "SELECT nope FROM deals"], "query failed"),
        (["query", "SELEC 1"], "sql parser error"),
        (["metric", "win_rate", "deals_won", "-f", "csv", "--by", "owner", "-f", "xml"],
         "unknown format 'xml'"),
    ],
)  # fmt: skip
def test_user_errors_are_one_line_and_exit_2(exports: Path, args: list[str], fragment: str) -> None:
    args = [*args[:2], str(exports), *args[2:]] if args[0] == "metric" else [*args, str(exports)]
    result = run(*args, code=2)
    assert fragment in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_out_is_written_atomically_in_the_format_of_its_extension(
    exports: Path, tmp_path: Path
) -> None:
    target = tmp_path / "out" / "rates.json"
    result = run("metric", "win_rate", str(exports), "--by", "owner", "--out", str(target))
    assert result.stdout == ""
    data = json.loads(target.read_text())
    assert {r["owner"] for r in data["metrics"]} == {"Ana", "Bo", "Cy"}
    assert [p.name for p in target.parent.iterdir()] == ["rates.json"]  # no temp file left
    run("metric", "win_rate", str(exports), "--out", str(exports / "deals.csv"), code=2)
    assert (exports / "deals.csv").read_text(encoding="utf-8") == DEALS_CSV
    run("metric", "win_rate", str(exports), "--out", str(tmp_path / "rates.xyz"), code=2)


def test_csv_cells_that_look_like_formulas_are_defused(tmp_path: Path) -> None:
    (tmp_path / "deals.csv").write_text(
        "Deal ID,Deal Owner,Status,Amount,Create Date,Close Date\n"
        'D1,"=HYPERLINK(""http://x"")",won,-5,2025-01-05,2025-01-09\n'
        "D2,@Bo,lost,7,2025-01-05,2025-01-09\n",
        encoding="utf-8",
    )
    out = run("query", "SELECT owner, amount FROM deals ORDER BY id", str(tmp_path),
              "-f", "csv").stdout  # fmt: skip
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[1] == ['\'=HYPERLINK("http://x")', "-5.0"]  # numbers stay numbers
    assert rows[2] == ["'@Bo", "7.0"]


def test_tables_lists_columns_with_dtypes_and_rows(exports: Path) -> None:
    data = json.loads(run("tables", str(exports), "-f", "json").stdout)["tables"]
    deals = {r["column"]: r for r in data if r["table"] == "deals"}
    assert deals["amount"]["dtype"] == "float64"
    assert deals["closed_at"]["dtype"] == "datetime"
    assert deals["owner"]["rows"] == 9
    assert {r["table"] for r in data} == {"deals", "rejects"}


def test_convert_then_read_the_parquet_folder(exports: Path, tmp_path: Path) -> None:
    out = tmp_path / "canonical"
    result = run("convert", str(exports), "--out", str(out), "--csv")
    assert f"{out / 'deals.parquet'}  9 rows" in result.stdout
    assert (out / "csv" / "deals.csv").is_file() and (out / "rejects.parquet").is_file()
    before = run("metric", "win_rate", "revenue_won", str(exports), "--by", "owner", "-f", "csv")
    after = run("metric", "win_rate", "revenue_won", str(out), "--by", "owner", "-f", "csv")
    assert after.stdout == before.stdout


def test_explain_shows_rows_and_arithmetic(exports: Path) -> None:
    text = run("explain", "win_rate", str(exports), "--since", "2025-04-01").stdout
    # 9 deals: D7 has no close date, D1, D2, D6 closed before April; D3, D4, D8 won and
    # D5, D9 lost remain: 3 / (3 + 2).
    assert "Definition: won / (won + lost)" in text
    assert "-1  left out: closed_at empty" in text
    assert "-3  left out: closed_at before 2025-04-01" in text
    assert " 5  rows in the window" in text
    assert "win_rate = won 3 / (won 3 + lost 2) = 0.6" in text
    data = json.loads(run("explain", "win_rate", str(exports), "-f", "json").stdout)
    # Without a window the open deal stays in the rows but counts in no part.
    groups = {g["label"]: g for g in data["groups"]}
    assert groups["open"]["counted"] is False
    assert groups["won"]["parts"] == {"numerator": 4.0, "denominator": 4.0}
    assert data["value"] == pytest.approx(4 / 8)


def test_explain_a_mean_counts_the_empty_amounts(exports: Path) -> None:
    data = json.loads(run("explain", "avg_deal_size", str(exports), "-f", "json").stdout)
    # Won: D1 12000, D3 3000, D4 20000, D8 no amount -> mean of three = 35000 / 3.
    assert data["value"] == pytest.approx(35000 / 3)
    assert data["parts"][0]["rows"] == 3
    text = run("explain", "avg_deal_size", str(exports)).stdout
    assert "amount empty in 1 matching rows: not counted" in text


def test_completion_offers_kpi_ids_columns_and_paths(exports: Path) -> None:
    from crmkpi.cli.completion import (
        complete_columns,
        complete_kpi_ids,
        complete_kpi_ids_or_paths,
        complete_periods,
    )
    from crmkpi.metrics import CATALOG

    assert {i for i, _ in complete_kpi_ids("win")} == {k for k in CATALOG if k.startswith("win")}
    assert ("owner,source", "deals: Lead source / channel the deal came from") in complete_columns(
        "owner,sou"
    )
    assert complete_periods("q") == ["quarter"]
    assert complete_kpi_ids_or_paths(str(exports) + "/de") == [str(exports / "deals.csv")]


def test_shell_completion_protocol_completes_ids() -> None:
    env = {**os.environ, "_CRMKPI_COMPLETE": "complete_bash", "COMP_WORDS": "crmkpi explain win_",
           "COMP_CWORD": "2"}  # fmt: skip
    script = Path(sys.executable).parent / "crmkpi"  # the prog name selects the env variable
    out = subprocess.run(
        [str(script)], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert "win_rate" in out and all(word.startswith("win_") for word in out)


def test_importing_the_cli_loads_no_heavy_library() -> None:
    code = (
        "import crmkpi, crmkpi.cli, sys; "
        "print([m for m in ('polars', 'openpyxl', 'fastexcel') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_output_cells() -> None:
    import polars as pl

    from crmkpi.errors import UsageError
    from crmkpi.reporting.csv import frame_cell as safe_cell
    from crmkpi.reporting.frames import NamedFrame as Block
    from crmkpi.reporting.output import render_frames as render

    assert [safe_cell(v) for v in ("=1+1", "+7", "-x", "@me", "\tx", "ok", None)] == [
        "'=1+1", "'+7", "'-x", "'@me", "'\tx", "ok", "",
    ]  # fmt: skip
    assert [safe_cell(v) for v in (-5, -0.1, 1 / 3, True)] == ["-5", "-0.1", repr(1 / 3), "true"]
    assert safe_cell(datetime(2025, 4, 1)) == "2025-04-01"
    assert safe_cell(datetime(2025, 4, 1, 9, 30)) == "2025-04-01T09:30:00"
    frame = pl.DataFrame({"owner": ["A|B"], "rate": [float("nan")]})
    assert "| A\\|B | - |" in render([Block("m", frame)], "markdown")
    assert json.loads(render([Block("m", frame)], "json")) == {
        "m": [{"owner": "A|B", "rate": None}]
    }
    plain = pl.DataFrame({"year": [2025], "share": [1 / 3], "won": [True], "rate": [0.5]})
    text = render([Block("m", plain, {"rate": "ratio"})], "terminal")
    assert text.split("\n")[2].split() == ["2025", "│", "0.333333", "│", "true", "│", "50.0%"]
    with pytest.raises(UsageError, match="CSV holds one table"):
        render([Block("a", frame), Block("b", frame)], "csv")


def test_explain_writes_the_rows_it_used(exports: Path, tmp_path: Path) -> None:
    target = tmp_path / "rows.csv"
    run("explain", "win_rate", str(exports), "--until", "2025-04-01", "--rows", str(target))
    rows = {r["id"]: r["counted_as"] for r in csv_rows(target.read_text())}
    # Closed before April: D1 won, D2 and D6 lost; D7 has no close date; the rest close later.
    assert rows["D1"] == "counted: numerator and denominator"
    assert rows["D2"] == rows["D6"] == "counted: denominator"
    assert rows["D7"] == "left out: closed_at empty"
    assert rows["D9"] == "left out: closed_at on or after 2025-04-01"


def test_terminal_shows_a_screenful_and_files_get_every_row(tmp_path: Path) -> None:
    lines = ["Deal ID,Deal Owner,Status,Create Date"]
    lines += [f"D{i},Owner {i:03d},open,2025-01-01" for i in range(250)]
    (tmp_path / "deals.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    sql = "SELECT owner FROM deals ORDER BY owner"
    shown = run("query", sql, str(tmp_path)).stdout
    assert "Owner 199" in shown and "Owner 200" not in shown
    assert "(first 200 of 250 rows; --format csv or --out FILE gives all)" in shown
    target = tmp_path / "all.txt"
    run("query", sql, str(tmp_path), "--out", str(target))
    assert "Owner 249" in target.read_text(encoding="utf-8")


def test_terminal_keeps_the_leading_columns_that_fit(exports: Path) -> None:
    sql = "SELECT id, owner, source, status, amount, created_at, closed_at FROM deals"
    narrow = runner.invoke(app, ["query", sql, str(exports)], env={"COLUMNS": "40"})
    assert narrow.exit_code == 0, narrow.output
    header = narrow.stdout.splitlines()[0]
    # id 2 + owner 5 + source 8 + status 6 + amount 6 + 3 per separator = 39 columns: fits 40.
    assert header.split() == ["id", "┃", "owner", "┃", "source", "┃", "status", "┃", "amount"]
    assert "(2 more columns: created_at, closed_at;" in narrow.stdout
    wide = runner.invoke(app, ["query", sql, str(exports)], env={"COLUMNS": "200"})
    assert "closed_at" in wide.stdout.splitlines()[0] and "more columns" not in wide.stdout


def test_query_text_from_a_file_or_standard_input(exports: Path, tmp_path: Path) -> None:
    sql_file = tmp_path / "won.sql"
    sql_file.write_text("-- deals won per owner\nSELECT owner, COUNT(*) AS won FROM deals\n"
                        "WHERE status = 'won' GROUP BY owner ORDER BY owner\n")  # fmt: skip
    # By hand: Ana won D1 and D3, Bo D4, Cy D8.
    expected = [
        {"owner": "Ana", "won": "2"},
        {"owner": "Bo", "won": "1"},
        {"owner": "Cy", "won": "1"},
    ]
    from_file = run("query", f"@{sql_file}", str(exports), "-f", "csv").stdout
    assert csv_rows(from_file) == expected
    piped = runner.invoke(
        app, ["query", "-", str(exports), "-f", "csv"], input=sql_file.read_text()
    )
    assert piped.exit_code == 0, piped.output
    assert csv_rows(piped.stdout) == expected
    missing = run("query", f"@{tmp_path / 'nope.sql'}", str(exports), code=2)
    assert "nope.sql: cannot read the query" in missing.stderr


def test_metric_labels_periods_as_the_report_does(exports: Path) -> None:
    out = run("metric", "win_rate", str(exports), "--period", "quarter", "-f", "csv").stdout
    # closed per quarter: Q1 D1 won, D2 D6 lost -> 1/3; Q2 D3 D4 D8 won, D5 lost -> 3/4;
    # Q3 D9 lost -> 0
    assert csv_rows(out) == [
        {"period": "2025-Q1", "win_rate": repr(1 / 3)},
        {"period": "2025-Q2", "win_rate": "0.75"},
        {"period": "2025-Q3", "win_rate": "0.0"},
    ]
    month = run("metric", "deals_won", str(exports), "--period", "month", "-f", "csv").stdout
    assert [r["period"] for r in csv_rows(month)][:2] == ["2025-01", "2025-02"]


def test_period_is_refused_by_a_table_of_one_window(exports: Path) -> None:
    result = run("metric", "lost_reasons", str(exports), "--period", "quarter", code=2)
    assert "the lost_reasons table covers one window and has no periods" in result.stderr
    assert "mrr_movements" in result.stderr  # the table that has periods


def test_metrics_never_folds_an_id_at_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    from crmkpi.metrics import CATALOG, TABLE_CATALOG

    monkeypatch.setenv("COLUMNS", "80")
    lines = run("metrics").stdout.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    words = {word for line in lines for word in line.split()}
    assert set(CATALOG) <= words and set(TABLE_CATALOG) <= words  # each id whole on a line


POLARS_TEXT = re.compile(r"col\(|None\.|\.when\(|\[\(|lit\(|dyn |\.alias\(|<polars|Expr\b")


def test_explain_speaks_in_words_and_arithmetic_for_every_kpi(exports: Path) -> None:
    from crmkpi.metrics import CATALOG

    for kpi in CATALOG:
        result = runner.invoke(app, ["explain", kpi, str(exports)])
        assert result.exit_code in (0, 2), (kpi, result.output)
        dumped = [line for line in result.output.splitlines() if POLARS_TEXT.search(line)]
        assert not dumped, (kpi, dumped)


def test_metric_labels_jalali_periods_as_the_report_does(exports: Path) -> None:
    # Deals closed January-September 2025 fall in the Jalali quarters (seasons) winter 1403
    # (2024-12-21 to 2025-03-20) to summer 1404 (2025-06-22 to 2025-09-22): not 2025-Q1.
    out = run("metric", "deals_won", str(exports), "--period", "quarter", "--calendar", "jalali",
              "-f", "csv").stdout  # fmt: skip
    labels = [r["period"] for r in csv_rows(out)]
    assert labels and not any("Q" in label for label in labels)
    assert labels[0] == "زمستان 1403"
    assert set(labels) <= {"زمستان 1403", "بهار 1404", "تابستان 1404"}
