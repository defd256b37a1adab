"""Every example in README.md and docs/*.md runs.

Shell blocks (sh, bash, shell, console) run each line that starts with `crmkpi` (or `$ crmkpi`)
through the CLI runner and expect exit 0 (or the code given by a `<!-- exit-code: N -->` line
just above the block); blocks whose first command is not crmkpi (make, pip...) are not
examples of this tool and are left alone. Python blocks of one file run in order in one
namespace. A block just below `<!-- not-run -->` is skipped.

The examples run in a fresh folder holding `exports/` (a small CRM export of deals and leads,
written below) and `sample_data/` (the repository's demo company, when present).
"""

from __future__ import annotations

import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SHELL = {"sh", "bash", "shell", "console", "zsh"}
PYTHON = {"python", "py", "python3", "pycon"}
NOT_RUN = "<!-- not-run -->"
EXIT_CODE = re.compile(r"<!--\s*exit-code:\s*(\d+)\s*-->")
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)")

DEALS_CSV = """Deal ID,Deal Name,Owner,Source,Stage,Status,Amount,Currency,Create Date,Close Date
D1,Acme renewal,Ana,Referral,Closed Won,won,12000,EUR,2025-01-05,2025-02-10
D2,Beta pilot,Ana,Web,Closed Lost,lost,5000,EUR,2025-01-07,2025-03-01
D3,Gamma,Ana,Web,Closed Won,won,3000,EUR,2025-03-20,2025-04-02
D4,Delta,Bo,Referral,Closed Won,won,20000,EUR,2025-02-01,2025-04-15
D5,Epsilon,Bo,Web,Closed Lost,lost,7000,EUR,2025-02-10,2025-05-20
D6,Zeta,Bo,Partner,Closed Lost,lost,1000,EUR,2025-01-11,2025-01-30
D7,Eta,Bo,Event,Negotiation,open,9000,EUR,2025-03-01,
D8,Theta,Cy,Referral,Closed Won,won,8000,EUR,2025-04-01,2025-06-30
D9,Iota,Cy,Web,Closed Lost,lost,2500,EUR,2025-04-03,2025-07-01
"""
LEADS_CSV = """Lead ID,Lead Owner,Lead Source,Created Date,Converted
L1,Ana,Web,2025-01-02,true
L2,Bo,Referral,2025-01-03,false
L3,Cy,Web,2025-02-04,true
L4,Ana,Event,2025-03-05,false
"""


@dataclass(frozen=True)
class Example:
    file: Path
    line: int
    lang: str
    code: str
    skip: bool
    exit_code: int

    @property
    def id(self) -> str:
        return f"{self.file.relative_to(REPO)}:{self.line}"


def examples(path: Path) -> list[Example]:
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[Example] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence, lang = match.groups()
        above = next((ln.strip() for ln in reversed(lines[:i]) if ln.strip()), "")
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1
        code_match = EXIT_CODE.search(above)
        out.append(Example(path, start + 1, lang.lower(), "\n".join(body), above == NOT_RUN,
                           int(code_match.group(1)) if code_match else 0))  # fmt: skip
    return out


def shell_commands(code: str) -> list[str]:
    """The crmkpi command lines of a shell block (continuations joined, prompts dropped)."""
    joined = re.sub(r"\\\n\s*", " ", code)
    commands = []
    for raw in joined.splitlines():
        line = raw.strip()
        if line.startswith("$ "):
            line = line[2:]
        if line.startswith("crmkpi ") or line == "crmkpi":
            commands.append(line)
    return commands


def is_crmkpi_block(example: Example) -> bool:
    first = next((ln.strip() for ln in example.code.splitlines() if ln.strip()
                  and not ln.strip().startswith("#")), "")  # fmt: skip
    return first.removeprefix("$ ").startswith("crmkpi")


ALL = [e for path in DOCS if path.is_file() for e in examples(path)]
SHELL_EXAMPLES = [e for e in ALL if e.lang in SHELL and is_crmkpi_block(e)]
PYTHON_FILES = sorted({e.file for e in ALL if e.lang in PYTHON})


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "deals.csv").write_text(DEALS_CSV, encoding="utf-8")
    (exports / "leads.csv").write_text(LEADS_CSV, encoding="utf-8")
    if (REPO / "sample_data").is_dir():
        # A copy, not a link: an example that writes (init --force) must not touch the repo.
        shutil.copytree(REPO / "sample_data", tmp_path / "sample_data")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "120")
    return tmp_path


@pytest.mark.parametrize("example", SHELL_EXAMPLES, ids=lambda e: e.id)
def test_shell_example_runs(example: Example, workdir: Path) -> None:
    if example.skip:
        pytest.skip("marked not-run")
    from crmkpi.cli import app

    runner = CliRunner()
    for command in shell_commands(example.code):
        args = shlex.split(command, comments=True)[1:]
        assert not {"|", ">", ">>", "&&", ";"} & set(args), (
            f"{example.id}: {command!r} needs a shell; mark the block {NOT_RUN}"
        )
        result = runner.invoke(app, args)
        assert result.exit_code == example.exit_code, (
            f"{example.id}: `{command}` exited {result.exit_code}\n{result.output}"
        )


@pytest.mark.parametrize("path", PYTHON_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_python_examples_run(path: Path, workdir: Path) -> None:
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for example in (e for e in ALL if e.file == path and e.lang in PYTHON):
        if example.skip:
            continue
        code = compile(example.code, example.id, "exec")
        exec(code, namespace)  # noqa: S102 - the repository's own documentation


def test_the_python_api_page_is_covered() -> None:
    assert REPO / "docs" / "python-api.md" in PYTHON_FILES
    api_shell = [e for e in SHELL_EXAMPLES if e.file.name == "python-api.md"]
    assert api_shell and not any(e.skip for e in api_shell)


def test_readme_says_how_to_run_the_installed_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    tour = readme.index("## A one-minute tour")
    # before the first `crmkpi ...` a reader types, the README says where make put it
    assert "`.venv/bin/`" in readme[:tour]
    assert ".venv/bin/crmkpi --version" in readme[:tour]
    assert "source .venv/bin/activate" in readme[:tour]
