"""A config can say what a file leaves unsaid: constant columns, links between tables and a
subscription id; and a config that names what does not exist is an error that says so."""

from __future__ import annotations

from pathlib import Path

import pytest

import crmkpi
from crmkpi.config import load_config
from crmkpi.errors import ConfigError, InputError


def _folder(tmp_path: Path, files: dict[str, str], toml: str) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "crmkpi.toml").write_text(toml, encoding="utf-8")
    return tmp_path / "crmkpi.toml"


CLOSED = "mql_id,won_date,seller_id\nm1,2018-01-10,s1\nm3,2018-02-01,s2\n,,\n"
LEADS = (
    "mql_id,first_contact_date,origin\n"
    "m1,2017-12-01,paid_search\nm2,2017-12-02,paid_search\nm3,2017-12-03,organic\n"
    "m4,2017-12-04,organic\nm5,2017-12-05,\n"
)
SMALLEST = """
[sources.closed]
path = "closed.csv"
table = "deals"
values = { status = "won" }
columns = { id = "mql_id" }
links = { lead_id = "mql_id" }
"""


def test_a_constant_column_loads_a_closed_won_only_export(tmp_path: Path) -> None:
    config = load_config(_folder(tmp_path, {"closed.csv": CLOSED, "leads.csv": LEADS}, SMALLEST))
    ds = crmkpi.load([tmp_path], config=config)
    deals = ds.frames["deals"]
    assert deals["status"].cast(str).to_list() == ["won", "won"]
    # the blank line stays a blank line, not a won deal without an id
    closed = next(i for i in ds.inputs if i.table == "deals")
    assert (closed.rows_read, closed.rows_loaded, closed.rows_rejected) == (3, 2, 1)
    assert ds.rejects.filter(file=str(tmp_path / "closed.csv"))["reason"].to_list() == ["blank"]


def test_a_link_gives_lead_to_won_conversion_and_the_leads_source(tmp_path: Path) -> None:
    config = load_config(_folder(tmp_path, {"closed.csv": CLOSED, "leads.csv": LEADS}, SMALLEST))
    ds = crmkpi.load([tmp_path], config=config)
    # 2 of the 5 leads (m1, m3) have a won deal: 0.4; without the link nothing is converted
    assert crmkpi.metric(ds, "lead_conversion_rate").item() == pytest.approx(0.4)
    deals = ds.frames["deals"].sort("id")
    assert deals["source"].cast(str).to_list() == ["paid_search", "organic"]
    sources = crmkpi.table(ds, "sources")
    got = dict(zip(sources["source"], sources["conversion_rate"], strict=True))
    # paid_search: m1 of m1, m2; organic: m3 of m3, m4; m5 has no origin
    assert got == {"paid_search": 0.5, "organic": 0.5, "(none)": 0.0}


SUBSCRIPTIONS = (
    "id,account_id,activated_at,canceled_at,updated_at,unit_amount\n"
    "s1,a1,2020-01-01,,2022-08-11,99\n"
    "s1,a1,2020-01-01,,2022-07-11,99\n"  # an older version of s1, listed after the newer
    "s2,a2,2020-02-01,,2022-07-01,50\n"
)


def test_a_subscription_id_keeps_the_latest_version_only(tmp_path: Path) -> None:
    toml = (
        '[sources.subscriptions]\npath = "subs.csv"\n'
        'columns = { subscription_id = "id", mrr = "unit_amount" }\n'
    )
    config = load_config(_folder(tmp_path, {"subs.csv": SUBSCRIPTIONS}, toml))
    ds = crmkpi.load([tmp_path / "subs.csv"], config=config)
    # MRR 99 + 50 = 149; counting both versions of s1 would give 248
    assert crmkpi.metric(ds, "mrr").item() == 149.0
    (summary,) = ds.inputs
    assert (summary.rows_read, summary.rows_loaded, summary.rows_rejected) == (3, 2, 1)
    (row, reason) = ds.rejects.select("row", "reason").row(0)
    assert row == 3 and reason.endswith("line 2 is its latest")


def test_a_column_mapped_to_a_missing_header_names_key_and_headers(tmp_path: Path) -> None:
    toml = '[sources.closed]\npath = "closed.csv"\ntable = "deals"\ncolumns = { id = "mqlid" }\n'
    config = load_config(_folder(tmp_path, {"closed.csv": CLOSED}, toml))
    with pytest.raises(InputError) as err:
        crmkpi.load([tmp_path / "closed.csv"], config=config)
    text = str(err.value) + (err.value.hint or "")
    assert "closed.csv" in text and "sources.closed.columns.id = 'mqlid'" in text
    assert "closest: 'mql_id'" in text and "'won_date'" in text


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[stages]\norder = "Engaging"\n', "stages.order must be a list of strings"),
        ('[sources.x]\ntable = "deals"\nvalues = "won"\n', "sources.x.values must be a table"),
        ('[sources.x]\ntable = "deals"\nvalues = { stat = "won" }\n', "a column of table deals"),
        ('[sources.x]\nvalues = { status = "won" }\n', "needs the source's table"),
        ('[sources.x]\ntable = "deals"\nlinks = { owner = "a" }\n', "no such link column"),
        ('[sources.x]\ntable = "deals"\nvalues = { status = 1 }\n', "must be a string"),
    ],
)
def test_wrong_types_and_unknown_columns_are_errors(
    tmp_path: Path, toml: str, expected: str
) -> None:
    path = tmp_path / "crmkpi.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=expected) as err:
        load_config(path)
    assert str(path) in str(err.value)


def test_a_subscription_ids_successive_terms_are_all_kept(tmp_path: Path) -> None:
    # One subscription id over two plans: Starter from 2024-01-01 until the upgrade on
    # 2024-06-01, then Business. Rows that start at different moments are terms, not versions:
    # both are kept, so the customer has been one since 2024-01-01 (keeping the latest row alone
    # would make it a customer from June); MRR on 2024-03-31 is Starter's 100.
    subs = (
        "Subscription Id,Customer Id,Plan,MRR,Started At,Ended At\n"
        "s1,c1,Starter,100,2024-01-01,2024-06-01\n"
        "s1,c1,Business,300,2024-06-01,\n"
    )
    ds = crmkpi.load([_folder(tmp_path, {"subs.csv": subs}, "").parent / "subs.csv"])
    frame = ds.frames["subscriptions"]
    assert frame.height == 2 and frame["start_at"].min().isoformat() == "2024-01-01T00:00:00"
    (summary,) = ds.inputs
    assert (summary.rows_read, summary.rows_loaded, summary.rows_rejected) == (2, 2, 0)
