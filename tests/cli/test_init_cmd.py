"""`crmkpi init`: a starter config from a folder's exports; never overwrites without --force."""

from __future__ import annotations

import tomllib

from typer.testing import CliRunner

from crmkpi.cli import app
from crmkpi.config import load_config

DEALS = """Deal ID,Deal Name,Owner,Stage,Amount,Created Date,Close Date
1,Acme,Ana,Won,100,2025-01-05,2025-03-01
2,Beta,Ana,Lost,50,2025-01-10,2025-03-10
3,Gamma,Bo,Won,300,2025-02-02,2025-03-20
4,Delta,Bo,Proposal,80,2025-03-05,
"""
LEADS = """Lead ID,Lead Source,Created,First Contacted
L1,Web,2025-01-02 09:00,2025-01-02 09:30
L2,Ads,2025-01-03 10:00,2025-01-03 12:00
"""


def init(*args: str):
    return CliRunner().invoke(app, ["init", *args])


def test_init_writes_a_valid_commented_config(tmp_path):
    (tmp_path / "deals.csv").write_text(DEALS, encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "leads.csv").write_text(LEADS, encoding="utf-8")
    (tmp_path / "notes.md").write_text("# not an export\n", encoding="utf-8")
    # A table of another kind: listed as not recognised, and the deals are still read.
    (tmp_path / "products.csv").write_text("product,series\nGTX,A\n", encoding="utf-8")
    result = init(str(tmp_path))
    assert result.exit_code == 0, result.output
    path = tmp_path / "crmkpi.toml"
    text = path.read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    deals = raw["sources"]["deals"]
    assert (deals["path"], deals["table"]) == ("deals.csv", "deals")
    assert "leads" not in raw["sources"]  # a folder argument is not searched recursively
    assert "Won" in raw["stages"]["won"] and "Lost" in raw["stages"]["lost"]
    assert raw["stages"]["order"].index("Proposal") < raw["stages"]["order"].index("Won")
    assert raw["targets"] == {}  # suggestions stay commented out
    # win rate today: 2 won / 3 closed = 66.7%; deals won 2.
    assert '# win_rate = ">= 0.667"   # now 66.7%' in text
    assert '# deals_won = ">= 2"   # now 2' in text
    assert "# [targets.by_owner.Ana]" in text
    config = load_config(path)  # what init writes, load accepts
    assert config.sources[0].path == "deals.csv"
    assert config.resolve(config.sources[0].path) == tmp_path / "deals.csv"
    assert "wrote" in result.stderr and "(1 source, 1 not recognised)" in result.stderr
    assert "# - " + str(tmp_path / "products.csv") in text
    assert f"next: crmkpi report --config {path}" in result.stderr


def test_init_never_overwrites_without_force(tmp_path):
    (tmp_path / "deals.csv").write_text(DEALS, encoding="utf-8")
    (tmp_path / "crmkpi.toml").write_text("# mine\n", encoding="utf-8")
    result = init(str(tmp_path))
    assert result.exit_code == 2 and "already exists" in result.stderr
    assert (tmp_path / "crmkpi.toml").read_text(encoding="utf-8") == "# mine\n"
    assert init(str(tmp_path), "--force").exit_code == 0
    assert "[sources.deals]" in (tmp_path / "crmkpi.toml").read_text(encoding="utf-8")


def test_init_in_a_folder_without_exports(tmp_path):
    result = init(str(tmp_path))
    assert result.exit_code == 0, result.output
    text = (tmp_path / "crmkpi.toml").read_text(encoding="utf-8")
    assert "No exports were recognised" in text
    assert load_config(tmp_path / "crmkpi.toml").sources == ()
    assert init(str(tmp_path / "missing")).exit_code == 2


def test_a_file_whose_rows_are_all_rejected_is_left_commented_out(tmp_path):
    (tmp_path / "deals.csv").write_text(DEALS, encoding="utf-8")
    # a deal with neither an id nor a name means nothing: both rows are rejected
    broken = "Deal ID,Deal Name,Stage,Created Date\n,,Won,2024-01-01\n,,Lost,2024-01-02\n"
    (tmp_path / "old_deals.csv").write_text(broken, encoding="utf-8")
    result = init(str(tmp_path))
    assert result.exit_code == 0, result.output
    text = (tmp_path / "crmkpi.toml").read_text(encoding="utf-8")
    assert "# Every row of old_deals.csv was rejected: probably not deals." in text
    assert '# path = "old_deals.csv"' in text
    assert [s.path for s in load_config(tmp_path / "crmkpi.toml").sources] == ["deals.csv"]
