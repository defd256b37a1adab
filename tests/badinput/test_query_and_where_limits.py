"""`crmkpi query` reads the tables of its inputs and nothing else; `--where` of any length or
depth answers in bounded time and memory, or is refused in one line.

Each case runs held to 10 s and 1 GB (see ceilings.py): the refusals in this process, the rest
in a child process.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ceilings import deals_csv, one_error_line, run_crmkpi, within_own_ceilings
from typer.testing import CliRunner

from crmkpi.cli import app

# Amounts 1000 (won), 250 (lost), 400 (open), 7000 (won) and 9000 (open).
ROWS = [
    "D1,Alpha,Closed Won,1000,USD,2024-01-05,2024-02-01,Ann",
    "D2,Beta,Closed Lost,250,USD,2024-01-10,2024-01-20,Bob",
    "D3,Gamma,Proposal,400,USD,2024-02-01,,Ann",
    "D4,Delta,Closed Won,7000,USD,2024-02-02,2024-02-10,Bob",
    "D5,Eps,Proposal,9000,USD,2024-02-03,,Ann",
]


@pytest.fixture
def deals(tmp_path: Path) -> Path:
    return deals_csv(tmp_path, ROWS)


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.csv"
    path.write_text("user,password\nroot,hunter2\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "template",
    [
        "select * from read_csv('{path}')",
        "select * from \"read_csv\"('{path}')",
        "select * from READ_CSV /* hidden */ ('{path}')",
        "select * from read_parquet('{path}')",
        "select * from read_json('{path}')",
        "select * from read_ndjson('{path}')",
        "select * from read_ipc('{path}')",
        "select * from deals union all select * from scan_csv('{path}')",
    ],
)
def test_query_refuses_functions_that_read_files(deals: Path, secret: Path, template: str) -> None:
    sql = template.format(path=secret)
    start = time.perf_counter()
    result = CliRunner().invoke(app, ["query", sql, str(deals), "--format", "csv"])
    within_own_ceilings(start)
    assert result.exit_code == 2
    one_error_line(result.stderr, "query refused", "reads files or URLs")
    assert "hunter2" not in result.stdout + result.stderr
    assert result.stdout == ""


@pytest.fixture
def web_server() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server recording every request path it is asked for."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            asked.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"user,password\nroot,hunter2\n")

        do_HEAD = do_GET  # noqa: N815

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", asked
    server.shutdown()


def test_query_makes_no_network_request(
    tmp_path: Path, deals: Path, web_server: tuple[str, list[str]]
) -> None:
    url, asked = web_server
    sql = f"select * from read_csv('{url}/leak.csv')"
    run = run_crmkpi("query", sql, str(deals), "--format", "csv", cwd=tmp_path)
    assert run.code == 2
    one_error_line(run.stderr, "query refused")
    assert asked == []


def test_query_mentioning_read_csv_in_text_still_runs(tmp_path: Path, deals: Path) -> None:
    sql = "select count(*) as n from deals where name != 'read_csv(x)' -- read_csv(y)"
    run = run_crmkpi("query", sql, str(deals), "--format", "json", cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout) == {"rows": [{"n": 5}]}


def _deals_created(run_stdout: str) -> int:
    return json.loads(run_stdout)["metrics"][0]["deals_created"]


def test_where_with_7000_or_terms_answers_quickly(tmp_path: Path, deals: Path) -> None:
    # amount = 0 or ... or amount = 6999: of 1000, 250, 400, 7000, 9000 the first three match.
    where = " or ".join(f"amount = {i}" for i in range(7000))
    run = run_crmkpi(
        "metric", "deals_created", str(deals), "--where", where, "--format", "json", cwd=tmp_path
    )
    assert run.code == 0, run.stderr[:500]
    assert _deals_created(run.stdout) == 3
    assert run.seconds < 10


def test_where_with_5000_and_not_terms_answers_quickly(tmp_path: Path, deals: Path) -> None:
    # amount > 0 and not amount = 0 ... and not amount = 4999: of 1000, 250, 400, 7000, 9000
    # the three below 5000 are excluded, 7000 and 9000 stay.
    where = "amount > 0 " + " ".join(f"and not amount = {i}" for i in range(5000))
    run = run_crmkpi(
        "metric", "deals_created", str(deals), "--where", where, "--format", "json", cwd=tmp_path
    )
    assert run.code == 0, run.stderr[:500]
    assert _deals_created(run.stdout) == 2


@pytest.mark.parametrize(
    "where",
    [
        "(" * 5000 + "amount > 0" + ")" * 5000,
        "not " * 5000 + "amount > 0",
    ],
    ids=["5000 parentheses", "5000 nots"],
)
def test_where_nested_too_deep_is_one_line(tmp_path: Path, deals: Path, where: str) -> None:
    run = run_crmkpi("metric", "deals_created", str(deals), "--where", where, cwd=tmp_path)
    assert run.code == 2
    one_error_line(run.stderr, "bad --where expression", "nested more than 100 levels deep")
    assert run.stdout == ""


def test_where_nested_100_deep_is_still_read(tmp_path: Path, deals: Path) -> None:
    # Two `not`s cancel out: 49 pairs inside 2 parentheses, 100 levels, all rows but 250.
    where = "(" + "not not " * 49 + "(amount != 250))"
    run = run_crmkpi(
        "metric", "deals_created", str(deals), "--where", where, "--format", "json", cwd=tmp_path
    )
    assert run.code == 0, run.stderr
    assert _deals_created(run.stdout) == 4


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("(" * 100 + "amount > 0" + ")" * 100, 100),
        ("(" * 101 + "amount > 0" + ")" * 101, 101),
        ("not (" * 50 + "amount > 0" + ")" * 50, 100),
        ("not (" * 50 + "not amount > 0" + ")" * 50, 101),
        # Side by side is not nested: 300 groups of one level each.
        (" or ".join(["(amount > 0)"] * 300), 1),
    ],
)
def test_where_depth_counts_parentheses_and_nots_together(text: str, depth: int) -> None:
    from crmkpi.errors import UsageError
    from crmkpi.metrics.filters import MAX_NESTING, parse_where

    if depth <= MAX_NESTING:
        assert parse_where(text).columns == ("amount",)
    else:
        with pytest.raises(UsageError, match="nested more than 100 levels deep"):
            parse_where(text)
