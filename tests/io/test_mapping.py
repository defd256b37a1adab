"""Header normalisation, table choice and preset detection."""

from __future__ import annotations

import pytest

from crmkpi.io.mapping import detect_preset, map_headers
from crmkpi.io.vocabulary import normalise_header


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Close_Date ", "close date"),
        ("MonthlyCharges", "monthly charges"),
        ("customerID", "customer id"),
        ("\ufeffDeal - Title", "deal title"),
        ("Fecha de creación", "fecha de creacion"),
        ("Olasılık (%)", "olasilik (%)"),
        ("تاريخ", "تاریخ"),  # Arabic yeh read as Persian yeh
        ("LEADID", "leadid"),
        ("Ημ/νία", "ημ νια"),  # abbreviations: slashes and dots are spaces, accents dropped
        ("Дата созд.", "дата созд"),
        ("№", "no"),  # the numero sign is N and o
        ("Dt.criação", "dt criacao"),
        ("Oluşt. tar.", "olust tar"),
    ],
)
def test_normalise_header(raw: str, expected: str) -> None:
    assert normalise_header(raw) == expected


def test_history_file_is_not_taken_for_deals() -> None:
    headers = ["Id", "OpportunityId", "CreatedDate", "StageName", "Amount", "CloseDate",
               "Probability"]  # fmt: skip
    # a deals reading is possible (Id, StageName, CreatedDate) but the file says history
    assert map_headers(headers, "OpportunityHistory.csv").table == "stage_history"
    assert map_headers(headers[:1] + headers[2:], "Opportunity.csv").table == "deals"


def test_leads_versus_deals_and_preset_detection() -> None:
    leads = ["LEADID", "Last Name", "Company", "Lead Owner", "Lead Source", "Lead Status",
             "Created Time", "CONVERTED"]  # fmt: skip
    mapping = map_headers(leads, "export.csv")
    assert mapping.table == "leads" and mapping.preset == "zoho"
    assert mapping.canonical["converted"] == "CONVERTED"
    assert detect_preset(["Deal - Title", "Deal - Value", "Deal - Status"]).name == "pipedrive"
    assert detect_preset(["Name", "Amount"]) is None  # too little to tell


def test_config_columns_win_over_aliases() -> None:
    from crmkpi.config import SourceConfig

    source = SourceConfig("deals", table="deals", columns={"amount": "Net", "created_at": "Day"})
    mapping = map_headers(["Deal ID", "Stage", "Amount", "Net", "Day"], "x.csv", source)
    assert mapping.canonical["amount"] == "Net"
    assert {m.canonical: m.rule for m in mapping.matches}["amount"] == "config"
    assert "Amount" in mapping.unmapped  # kept as an extra column


def test_spaced_labels_do_not_pass_for_salesforce_api_names() -> None:
    headers = ["Lead Id", "Lead Owner", "Lead Source", "Lead Status", "Created Time",
               "Converted", "Converted Date"]  # fmt: skip
    assert detect_preset(headers).name == "zoho"
    api = ["Id", "LeadSource", "Status", "IsConverted", "ConvertedDate", "CreatedDate"]
    assert detect_preset(api).name == "salesforce"


def test_stage_meaning_ignores_a_pipeline_suffix() -> None:
    from crmkpi.io.stages import StageMeaning

    meaning = StageMeaning.build(None, None)
    stages = ["Closed Won (Sales Pipeline)", "Closed Lost [EU]", "Gewonnen", "Proposal (EU)"]
    assert [meaning.status_of_stage(s) for s in stages] == ["won", "lost", "won", "open"]


def test_a_full_alias_claims_a_header_before_an_abbreviation() -> None:
    # "No." would be the id, but "Deal ID" names it in full; "Ημερομηνία δημιουργίας" is the
    # creation date in full, so "Ημ/νία" (any date) does not take it.
    mapping = map_headers(
        ["No.", "Deal ID", "Stage", "Ημ/νία", "Ημερομηνία δημιουργίας"], "deals.csv"
    )
    rules = {m.canonical: (m.header, m.rule) for m in mapping.matches}
    assert rules["id"] == ("Deal ID", "alias:en")
    assert rules["created_at"] == ("Ημερομηνία δημιουργίας", "alias:el")
    assert {"No.", "Ημ/νία"} <= set(mapping.unmapped)
    alone = map_headers(["No.", "Stage", "Ημ/νία"], "deals.csv")
    assert {m.canonical: m.rule for m in alone.matches} == {
        "id": "abbr:en", "stage": "alias:en", "created_at": "abbr:el"
    }  # fmt: skip
