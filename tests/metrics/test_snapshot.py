"""A subscriptions snapshot (a churn flag, a monthly charge, a tenure; no dates) gives churn
rate, MRR, churned MRR and ARPA as of the export."""

from __future__ import annotations

from pathlib import Path

import pytest

import crmkpi
from crmkpi.errors import UsageError

SNAPSHOT = (
    "customerID,tenure,MonthlyCharges,Churn\n"
    "A,12,50,No\n"
    "B,3,20,Yes\n"
    "C,30,70,No\n"
    "D,1,10,Yes\n"
    "E,5,40,\n"  # churn unknown: in no figure that needs to know
)


@pytest.fixture
def snapshot(tmp_path: Path) -> crmkpi.Dataset:
    f = tmp_path / "churn.csv"
    f.write_text(SNAPSHOT, encoding="utf-8")
    return crmkpi.load([f])


def test_snapshot_loads_every_customer_with_flag_and_tenure(snapshot: crmkpi.Dataset) -> None:
    subs = snapshot.frames["subscriptions"]
    assert subs["churned"].to_list() == [False, True, False, True, None]
    assert subs["tenure_months"].to_list() == [12.0, 3.0, 30.0, 1.0, 5.0]


def test_snapshot_figures_are_as_of_the_export(snapshot: crmkpi.Dataset) -> None:
    ids = ["mrr", "churned_mrr", "customer_churn_rate", "arpa"]
    values = crmkpi.metric(snapshot, ids).row(0)
    # active A, C: MRR 50 + 70 = 120; churned B, D: 20 + 10 = 30; churn 2 of the 4 known
    # (E's flag is empty: counting it as active would give 2/5); ARPA 120 / 2 customers = 60
    assert values == (120.0, 30.0, 0.5, 60.0)


def test_snapshot_cannot_be_placed_in_periods(snapshot: crmkpi.Dataset) -> None:
    with pytest.raises(UsageError, match="as of the export"):
        crmkpi.metric(snapshot, "mrr", period="month")


def test_status_words_joined_stayed_churned_are_a_churn_flag(tmp_path: Path) -> None:
    f = tmp_path / "telecom.csv"
    f.write_text(
        "Customer ID,Tenure in Months,Monthly Charge,Customer Status\n"
        "1,2,30,Joined\n2,20,60,Stayed\n3,8,90,Churned\n",
        encoding="utf-8",
    )
    ds = crmkpi.load([f])
    values = crmkpi.metric(ds, ["mrr", "churned_mrr", "customer_churn_rate"]).row(0)
    assert values == (90.0, 90.0, pytest.approx(1 / 3))  # joined and stayed are customers
