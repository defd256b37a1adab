"""Owner ids shown as names when a users file is exported beside the records."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from crmkpi.io.load import load
from crmkpi.io.owner_names import is_users_name

OPPORTUNITIES = """Id,Name,StageName,Amount,CreatedDate,CloseDate,IsClosed,IsWon,OwnerId
006A,Acme,Closed Won,1000,2025-01-02,2025-02-01,1,1,005X
006B,Beta,Closed Lost,2000,2025-01-05,2025-02-03,1,0,005Y
006C,Ceto,Prospecting,3000,2025-01-09,2025-03-01,0,0,005Z
"""
# 005Z is in no users file: it stays an id rather than being guessed
USERS = """Id,Username,FirstName,LastName,IsActive
005X,ana@example.com,Ana,Ruiz,1
005Y,bo@example.com,,Berg,1
005W,cy@example.com,Cy,Li,0
"""


def test_owner_ids_become_the_users_names(tmp_path: Path) -> None:
    (tmp_path / "Opportunity.csv").write_text(OPPORTUNITIES, encoding="utf-8")
    (tmp_path / "User.csv").write_text(USERS, encoding="utf-8")
    ds = load([tmp_path])
    owners = dict(ds.frames["deals"].select("id", "owner").cast({"owner": str}).iter_rows())
    assert owners == {"006A": "Ana Ruiz", "006B": "Berg", "006C": "005Z"}
    users = next(i for i in ds.inputs if i.table == "users")
    assert (users.rows_read, users.rows_loaded, users.rows_rejected) == (3, 3, 0)
    assert not any("User.csv" in path for path, _ in ds.unused)


def test_without_a_users_file_owners_stay_ids(tmp_path: Path) -> None:
    (tmp_path / "Opportunity.csv").write_text(OPPORTUNITIES, encoding="utf-8")
    ds = load([tmp_path])
    assert set(ds.frames["deals"]["owner"].cast(str)) == {"005X", "005Y", "005Z"}


@pytest.mark.parametrize(
    ("name", "users"),
    [("User.csv", True), ("sf_user_data.csv", True), ("users.xlsx", True),
     ("UserRole.csv", False), ("Account.csv", False)],
)  # fmt: skip
def test_users_files_by_name(name: str, users: bool) -> None:
    assert is_users_name(Path(name)) is users


REALDATA = os.environ.get("CRMKPI_REALDATA")


@pytest.mark.skipif(not REALDATA, reason="CRMKPI_REALDATA not set")
def test_salesforce_owners_are_names_on_the_real_export() -> None:
    folder = Path(REALDATA or ".") / "salesforce_devorg_sample"
    with open(folder / "User.csv", encoding="utf-8", newline="") as f:
        names = {r["Id"]: f"{r['FirstName']} {r['LastName']}".strip() for r in csv.DictReader(f)}
    with open(folder / "opportunity.csv", encoding="utf-8", newline="") as f:
        expected = {r["Id"]: names[r["OwnerId"]] for r in csv.DictReader(f)}
    ds = load([folder])
    owners = dict(ds.frames["deals"].select("id", "owner").cast({"owner": str}).iter_rows())
    assert owners == expected
    assert set(owners.values()) == {"Matthew Skinner"}  # the one user owning the 31 deals
