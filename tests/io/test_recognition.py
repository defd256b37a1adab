"""Which table a file holds, from all the evidence: histories, child records and billing exports
are not read as their parent; a tie is listed, never silently assigned."""

from __future__ import annotations

import tomllib
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from typer.testing import CliRunner

from crmkpi.cli import app
from crmkpi.config import parse_config
from crmkpi.errors import InputError
from crmkpi.io.inspect import emit_config, inspect_file
from crmkpi.io.load import load

OPPORTUNITIES = (
    "Id,Name,StageName,Amount,CreatedDate\n"
    "006A,Alpha,Closed Won,100,2024-01-02\n"
    "006B,Beta,Closed Lost,50,2024-01-03\n"
    "006C,Gamma,Prospecting,70,2024-01-04\n"
)
# Salesforce's OpportunityHistory: its own Id, the deal's OpportunityId, a stage and a date.
# Read by headers alone it scores as deals (Id, StageName, CreatedDate, Amount).
OPPORTUNITY_HISTORY = (
    "Id,OpportunityId,CreatedDate,StageName,Amount\n"
    "008A1,006A,2024-01-02,Prospecting,100\n"
    "008A2,006A,2024-01-09,Closed Won,100\n"
    "008B1,006B,2024-01-03,Prospecting,50\n"
    "008B2,006B,2024-01-10,Closed Lost,50\n"
    "008C1,006C,2024-01-04,Prospecting,70\n"
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def accounted(ds) -> None:
    for s in ds.inputs:
        assert s.rows_read == s.rows_loaded + s.rows_rejected, s.path


def test_opportunity_history_is_stage_history_not_more_deals(tmp_path: Path) -> None:
    write(tmp_path / "Opportunity.csv", OPPORTUNITIES)
    write(tmp_path / "OpportunityHistory.csv", OPPORTUNITY_HISTORY)
    ds = load([tmp_path])
    accounted(ds)
    # 3 deals (the tempting reading adds the 5 history rows: 8 deals, 2 won)
    assert ds.frames["deals"].height == 3
    assert {s.path.rsplit("/", 1)[-1]: s.table for s in ds.inputs} == {
        "Opportunity.csv": "deals",
        "OpportunityHistory.csv": "stage_history",
    }
    history = ds.frames["stage_history"]
    assert sorted(history["deal_id"].unique().to_list()) == ["006A", "006B", "006C"]


def test_a_repeating_id_beside_a_stage_is_a_history(tmp_path: Path) -> None:
    # The same headers fit deals and stage history; the values decide: deal 7 appears twice
    # (it changed stage), so these are changes, not deals.
    changes = write(
        tmp_path / "export.csv",
        "Deal ID,Stage,Created Date\n7,New,2024-01-01\n7,Won,2024-01-05\n8,New,2024-01-02\n",
    )
    assert load([changes]).inputs[0].table == "stage_history"
    once = write(
        tmp_path / "export2.csv",
        "Deal ID,Stage,Created Date\n7,Won,2024-01-01\n8,New,2024-01-02\n",
    )
    assert load([once]).inputs[0].table == "deals"


def test_line_items_and_deal_children_are_not_deals(tmp_path: Path) -> None:
    write(tmp_path / "Opportunity.csv", OPPORTUNITIES)
    # named plainly, told apart by its columns: a foreign OpportunityId and product lines
    write(
        tmp_path / "export_42.csv",
        "Id,OpportunityId,Quantity,UnitPrice,TotalPrice,StageName,CreatedDate\n"
        "00k1,006A,2,50,100,Closed Won,2024-01-09\n",
    )
    # named as line items, with headers that would fit activities (an id and a date)
    write(
        tmp_path / "opportunity_line_item.csv",
        "id,opportunity_id,created_date,type\n00k2,006A,2024-01-09,product\n",
    )
    ds = load([tmp_path])
    accounted(ds)
    assert [s.table for s in ds.inputs] == ["deals"]
    assert ds.frames["deals"].height == 3
    why = {Path(p).name: reason for p, reason in ds.unused}
    assert "line items" in why["export_42.csv"]
    assert "line items" in why["opportunity_line_item.csv"]


def test_billing_export_reads_subscriptions_and_lists_the_rest(tmp_path: Path) -> None:
    # Chargebee-style headers ("subscription.mrr") beside the accounts, invoices,
    # transactions and plans of the same export
    write(
        tmp_path / "Subscriptions.csv",
        "subscription.id,subscription.customer_id,subscription.started_at,"
        "subscription.cancelled_at,subscription.mrr\n"
        "s1,c1,2024-01-01,,99\ns2,c2,2024-02-01,2024-03-01,49\n",
    )
    write(
        tmp_path / "invoices.csv", "id,customer_id,date,amount,status\ni1,c1,2024-01-01,99,paid\n"
    )
    write(
        tmp_path / "transactions.csv",
        "id,customer_id,created_at,amount,type\nt1,c1,2024-01-01,99,payment\n",
    )
    write(tmp_path / "plans.csv", "id,name,price,created_at\np1,Pro,99,2023-01-01\n")
    write(tmp_path / "accounts.csv", "id,name,created_at\nc1,Acme,2023-05-01\n")
    ds = load([tmp_path])
    accounted(ds)
    assert [s.table for s in ds.inputs] == ["subscriptions"]
    assert ds.frames["subscriptions"]["mrr"].sum() == 99 + 49
    why = {Path(p).name: reason for p, reason in ds.unused}
    assert set(why) == {"invoices.csv", "transactions.csv", "plans.csv", "accounts.csv"}
    assert "invoices" in why["invoices.csv"] and "transactions" in why["transactions.csv"]


def test_a_subscription_history_is_subscriptions_or_says_what_it_lacks(tmp_path: Path) -> None:
    # Recurly's subscription history: an amount per billing period, not an MRR. It is not
    # read as leads (it has an id and a date); it is refused naming what subscriptions need.
    history = write(
        tmp_path / "subscription_history_data.csv",
        "id,account_id,activated_at,canceled_at,unit_amount,quantity,subtotal,state\n"
        "a,acc1,2019-03-26,2019-04-26,99.0,1,99.0,expired\n"
        "b,acc2,2019-05-01,,99.0,2,198.0,active\n",
    )
    with pytest.raises(InputError, match="closest is subscriptions, which needs mrr") as err:
        load([history])
    assert "'subtotal' is an amount per billing period" in str(err.value)
    config = parse_config(
        {"sources": {"subscriptions": {"path": str(history), "columns": {"mrr": "subtotal"}}}},
        tmp_path / "crmkpi.toml",
    )
    ds = load([], config)
    assert ds.frames["subscriptions"]["mrr"].to_list() == [99.0, 198.0]  # subtotal, as mapped
    assert ds.frames["subscriptions"]["customer_id"].to_list() == ["acc1", "acc2"]


def test_history_of_deals_versions_is_listed_not_used(tmp_path: Path) -> None:
    # a Fivetran-style snapshot: one row per deal per version, shaped like the deals
    write(tmp_path / "opportunity.csv", "id,name,stage_name,created_date\n1,A,Won,2024-01-01\n")
    write(
        tmp_path / "opportunity_history.csv",
        "id,name,stage_name,created_date,_fivetran_start\n"
        "1,A,New,2024-01-01,2024-01-01\n1,A,Won,2024-01-01,2024-02-01\n",
    )
    ds = load([tmp_path])
    assert ds.frames["deals"].height == 1  # not 3
    assert (
        "history of deals"
        in dict((Path(p).name, r) for p, r in ds.unused)["opportunity_history.csv"]
    )


def test_a_daily_snapshot_of_deals_is_not_more_deals(tmp_path: Path) -> None:
    # one row per deal per day, named plainly: deal 1 on two days is one deal, not two
    write(
        tmp_path / "deals.csv", "Deal ID,Stage,Created Date\n1,Won,2024-01-01\n2,New,2024-01-02\n"
    )
    write(
        tmp_path / "pipeline_daily.csv",
        "Deal ID,Stage,Created Date,Snapshot Date\n"
        "1,New,2024-01-01,2024-01-01\n1,Won,2024-01-01,2024-01-02\n2,New,2024-01-02,2024-01-02\n",
    )
    ds = load([tmp_path])
    assert ds.frames["deals"].height == 2  # the deals file alone; the snapshot would add 3
    assert "Snapshot Date" in dict((Path(p).name, r) for p, r in ds.unused)["pipeline_daily.csv"]
    # a deals export that happens to carry a snapshot date but lists each deal once is deals
    once = write(
        tmp_path / "one.csv",
        "Deal ID,Stage,Created Date,Snapshot Date\n1,Won,2024-01-01,2024-01-05\n",
    )
    assert load([once]).frames["deals"].height == 1


def test_a_property_history_gives_only_its_deal_stage_rows(tmp_path: Path) -> None:
    write(tmp_path / "deals.csv", "Deal ID,Stage,Create Date\n1,won,2024-01-01\n")
    # HubSpot's deal property history: every property's changes, the stage's among them
    write(
        tmp_path / "deal_property_history.csv",
        "deal_id,timestamp,name,value\n"
        "1,2024-01-01,amount,100\n"
        "1,2024-01-02,dealstage,appointmentscheduled\n"
        "1,2024-01-05,dealstage,closedwon\n"
        "1,2024-01-05,closedate,2024-01-05\n",
    )
    ds = load([tmp_path])
    accounted(ds)
    history = ds.frames["stage_history"]
    # 2 stage changes; read whole it would hold 4 "stages" named 100, 2024-01-05...
    assert history["stage"].cast(str).to_list() == ["appointmentscheduled", "closedwon"]
    rejected = ds.rejects.filter(pl.col("action") == "rejected")
    assert rejected.select("row", "reason").rows() == [
        (2, "property 'amount' is not the deal stage"),
        (5, "property 'closedate' is not the deal stage"),
    ]


def test_a_property_history_without_stage_rows_is_not_used(tmp_path: Path) -> None:
    write(tmp_path / "deals.csv", "Deal ID,Stage,Create Date\n1,won,2024-01-01\n")
    write(
        tmp_path / "deal_property_history.csv",
        "deal_id,timestamp,name,value\n1,2024-01-01,amount,100\n1,2024-01-02,dealname,A\n",
    )
    ds = load([tmp_path])
    assert "stage_history" not in ds.frames
    assert "none of them is the deal stage" in ds.unused[0][1]


def test_data_dictionary_in_a_folder_is_not_used_but_named_it_exits_2(tmp_path: Path) -> None:
    write(tmp_path / "deals.csv", "Deal ID,Stage,Created Date\n1,Won,2024-01-01\n")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["B3"], ws["C3"] = "Variables", "Description"
    ws["B4"], ws["C4"] = "Deal ID", "The id of the deal"
    wb.save(tmp_path / "Deals Data Dictionary.xlsx")
    ds = load([tmp_path])
    assert ds.frames["deals"].height == 1
    assert [Path(p).name for p, _ in ds.unused] == ["Deals Data Dictionary.xlsx"]
    assert "data dictionary" in ds.unused[0][1]
    named = CliRunner().invoke(app, ["report", str(tmp_path / "Deals Data Dictionary.xlsx")])
    assert named.exit_code == 2 and "data dictionary" in named.output
    assert "Traceback" not in named.output


def test_unreadable_files_in_a_folder_are_listed_not_fatal(tmp_path: Path) -> None:
    write(tmp_path / "deals.csv", "Deal ID,Stage,Created Date\n1,Won,2024-01-01\n")
    write(tmp_path / "empty.csv", "")
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    ds = load([tmp_path])
    assert ds.frames["deals"].height == 1
    assert sorted(Path(p).name for p, _ in ds.unused) == ["broken.xlsx", "empty.csv"]
    named = CliRunner().invoke(app, ["report", str(tmp_path / "broken.xlsx")])
    assert named.exit_code == 2 and "broken.xlsx" in named.output


def test_two_tables_that_fit_equally_are_ambiguous_and_inspect_pins_one(tmp_path: Path) -> None:
    # an id and a creation date: a lead or an activity, nothing says which
    f = write(tmp_path / "export.csv", "Id,Created Date\n1,2024-01-01\n2,2024-01-02\n")
    with pytest.raises(InputError, match="ambiguous: fits leads and activities") as err:
        load([f])
    assert 'table = "leads"' in str(err.value)  # the config line that settles it
    write(tmp_path / "deals.csv", "Deal ID,Stage,Created Date\n1,Won,2024-01-01\n")
    ds = load([tmp_path])
    assert [s.table for s in ds.inputs] == ["deals"]  # the ambiguous file is listed, not guessed
    assert "ambiguous" in dict((Path(p).name, r) for p, r in ds.unused)["export.csv"]
    insp = inspect_file(f)
    assert insp.table == "leads" and insp.ambiguity is not None
    snippet = emit_config(insp, "export")
    write(tmp_path / "crmkpi.toml", snippet)
    config = parse_config(tomllib.loads(snippet), tmp_path / "crmkpi.toml")
    pinned = load([], config)  # the emitted config runs as written
    assert pinned.inputs[0].table == "leads" and pinned.frames["leads"].height == 2


def test_emitted_config_runs_as_written_and_names_what_it_did_not_find(tmp_path: Path) -> None:
    f = write(tmp_path / "OpportunityHistory.csv", OPPORTUNITY_HISTORY)
    insp = inspect_file(f)
    assert insp.table == "stage_history"
    snippet = emit_config(insp)
    assert '# left_at = ""' in snippet  # a canonical column it did not match, by name
    config = parse_config(tomllib.loads(snippet), tmp_path / "crmkpi.toml")
    ds = load([], config)
    assert ds.inputs[0].table == "stage_history" and ds.frames["stage_history"].height == 5


def test_table_set_in_config_is_honoured(tmp_path: Path) -> None:
    # a name the recognition would refuse ("invoices"), pinned to deals by the config
    f = write(
        tmp_path / "invoices_of_won_deals.csv", "Deal ID,Stage,Created Date\n1,Won,2024-01-01\n"
    )
    with pytest.raises(InputError, match="invoices"):
        load([f])
    config = parse_config(
        {"sources": {"won": {"path": str(f), "table": "deals"}}}, tmp_path / "crmkpi.toml"
    )
    assert load([], config).frames["deals"].height == 1
    # pinned to a table whose columns it lacks: said as such, not "cannot tell which table"
    g = write(tmp_path / "closed.csv", "Deal ID,Won Date\n1,2024-01-01\n")
    config = parse_config(
        {"sources": {"closed": {"path": str(g), "table": "deals"}}}, tmp_path / "crmkpi.toml"
    )
    with pytest.raises(
        InputError, match=r"read as deals \(sources.closed.table\), it needs"
    ) as err:
        load([], config)
    assert "cannot tell" not in str(err.value)
