"""NPS answers and subscriptions linked through customer_id to the customer's deals take the
owner of the customer's latest deal, so NPS and churn can be cut by owner."""

from __future__ import annotations

from pathlib import Path

import crmkpi

DEALS = (
    "Deal ID,Stage,Owner,Account,Close Date\n"
    "1,Won,Ann,acme,2024-01-01\n"
    "2,Won,Bob,acme,2024-03-01\n"  # acme's latest deal: Bob owns acme now
    "3,Won,Ann,beta,2024-02-01\n"
)


def _load(tmp_path: Path, name: str, text: str) -> crmkpi.Dataset:
    (tmp_path / "deals.csv").write_text(DEALS, encoding="utf-8")
    (tmp_path / name).write_text(text, encoding="utf-8")
    return crmkpi.load([tmp_path / "deals.csv", tmp_path / name])


def test_nps_by_owner_through_the_customers_deals(tmp_path: Path) -> None:
    ds = _load(tmp_path, "nps.csv", "Account,NPS Score\nacme,10\nacme,3\nbeta,9\ngamma,9\n")
    frame = crmkpi.metric(ds, "nps", by="owner")
    got = dict(zip(frame["owner"], frame["nps"], strict=True))
    # Bob (acme): one promoter, one detractor -> 0; Ann (beta): one promoter -> 100; gamma has
    # no deal, so no owner (taking Ann's first deal of acme instead would give Ann 33.3)
    assert got == {"Ann": 100.0, "Bob": 0.0, None: 100.0}


def test_churn_by_owner_of_a_snapshot(tmp_path: Path) -> None:
    ds = _load(
        tmp_path,
        "churn.csv",
        "Account,Monthly Charge,Churn\nacme,10,Yes\nbeta,20,No\n",
    )
    frame = crmkpi.metric(ds, "customer_churn_rate", by="owner")
    assert dict(zip(frame["owner"], frame["customer_churn_rate"], strict=True)) == {
        "Ann": 0.0,
        "Bob": 1.0,
    }


def test_an_owner_the_file_gives_is_kept(tmp_path: Path) -> None:
    ds = _load(tmp_path, "nps.csv", "Account,NPS Score,Owner\nacme,10,Cleo\n")
    assert ds.frames["nps"]["owner"].cast(str).to_list() == ["Cleo"]
