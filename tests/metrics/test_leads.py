"""Lead KPIs and tables, activities, NPS: values worked out by hand in the comments."""

from __future__ import annotations

import polars as pl
import pytest
from metric_frames import by_key, dt, one

from crmkpi.config import Config
from crmkpi.dataset import Dataset
from crmkpi.metrics import Grain, evaluate, evaluate_tables


def leads_frame() -> pl.DataFrame:
    """Responses: l1 30 min, l2 none, l3 180 min, l4 Fri 17:30 -> Mon 09:15 = 3825 min
    (2 x 1440 + 945)."""
    return pl.DataFrame(
        {
            "id": ["l1", "l2", "l3", "l4"],
            "owner": ["x", "y", "y", "x"],
            "source": ["web", "ads", "web", "ads"],
            "qualification": ["A", "B", "A", None],
            "created_at": [dt(2024, 1, 1, 9), dt(2024, 1, 2, 10), dt(2024, 2, 1, 8),
                           dt(2024, 2, 2, 17, 30)],
            "first_contact_at": [dt(2024, 1, 1, 9, 30), None, dt(2024, 2, 1, 11),
                                 dt(2024, 2, 5, 9, 15)],
            "converted": [True, False, None, True],
        }
    )  # fmt: skip


def test_lead_kpis() -> None:
    ds = Dataset(frames={"leads": leads_frame()})
    ids = ["leads_created", "lead_response_minutes_median", "lead_response_minutes_p90",
           "lead_response_sla_rate", "lead_conversion_rate"]  # fmt: skip
    got = evaluate(ds, ids)
    assert one(got, "leads_created") == 4
    assert one(got, "lead_response_minutes_median") == 180.0  # of 30, 180, 3825
    # p90 (linear) of [30, 180, 3825]: position 1.8 -> 180 + 0.8 x 3645 = 3096.
    assert one(got, "lead_response_minutes_p90") == pytest.approx(3096.0)
    assert one(got, "lead_response_sla_rate") == 0.25  # only l1 within 60 min; l2 missed
    assert one(got, "lead_conversion_rate") == 0.5  # l1, l4 of four


def test_sla_from_config() -> None:
    ds = Dataset(frames={"leads": leads_frame()})
    got = evaluate(ds, ["lead_response_sla_rate"], config=Config(lead_response_sla_minutes=200))
    assert one(got, "lead_response_sla_rate") == 0.5  # l1 30, l3 180


def test_business_minutes_with_holidays() -> None:
    ds = Dataset(frames={"leads": leads_frame()})
    hours = {"start": "09:00", "end": "17:00"}
    got = evaluate(ds, ["lead_response_business_minutes_median"],
                   config=Config(working_hours=hours))  # fmt: skip
    # l1 Mon Jan 1 09:00-09:30 = 30; l3 Thu 08:00-11:00 -> 09:00-11:00 = 120;
    # l4 Fri 17:30 (after hours) -> Mon 09:15 = 15. Median of 30, 120, 15 = 30.
    assert one(got, "lead_response_business_minutes_median") == 30.0
    greek = Config(working_hours={**hours, "holidays": "GR"})
    got = evaluate(ds, ["lead_response_business_minutes_median"], config=greek)
    # Jan 1 is a public holiday in Greece: l1 counts 0. Median of 0, 120, 15 = 15.
    assert one(got, "lead_response_business_minutes_median") == 15.0


def test_business_minutes_need_working_hours() -> None:
    skipped: dict[str, str] = {}
    evaluate(Dataset(frames={"leads": leads_frame()}), ["lead_response_business_minutes_median"],
             skipped=skipped)  # fmt: skip
    assert "working_hours" in skipped["lead_response_business_minutes_median"]


def test_response_from_first_activity_when_no_column() -> None:
    leads = leads_frame().drop("first_contact_at")
    acts = pl.DataFrame(
        {
            "id": ["1", "2", "3"],
            "type": ["call", "email", "call"],
            "at": [dt(2024, 1, 1, 9, 45), dt(2024, 1, 1, 9, 20), dt(2024, 1, 3, 10)],
            "lead_id": ["l1", "l1", "l2"],
        }
    )
    got = evaluate(Dataset(frames={"leads": leads, "activities": acts}),
                   ["lead_response_minutes_median"])  # fmt: skip
    # l1: first activity 09:20 -> 20 min; l2: Jan 3 10:00 - Jan 2 10:00 = 1440. Median 730.
    assert one(got, "lead_response_minutes_median") == 730.0


def test_response_is_the_first_touch_at_or_after_creation() -> None:
    """A touch before the lead existed (an old conversation) is not its answer; the lead's
    later touch is. Taking the first touch and dropping it as "before creation" would count
    the lead as never answered."""
    leads = pl.DataFrame(
        {"id": ["l1", "l2"], "created_at": [dt(2024, 1, 1, 9), dt(2024, 1, 2, 10)]}
    )
    acts = pl.DataFrame(
        {
            "id": ["1", "2", "3", "4"],
            "at": [dt(2023, 12, 20, 9), dt(2024, 1, 1, 11), dt(2024, 1, 2, 10),
                   dt(2024, 1, 2, 9)],
            "lead_id": ["l1", "l1", "l2", "l2"],
        }
    )  # fmt: skip
    ds = Dataset(frames={"leads": leads, "activities": acts})
    got = evaluate(ds, ["lead_response_minutes_median", "lead_response_sla_rate"])
    # l1: the Dec 20 call predates the lead; its Jan 1 11:00 call answers it: 120 min.
    # l2: touched at the minute of creation: 0 min (the 09:00 touch is before it).
    # Median of 120 and 0 = 60; within the 60-minute SLA: l2 only, 1 of 2.
    assert one(got, "lead_response_minutes_median") == 60.0
    assert one(got, "lead_response_sla_rate") == 0.5


def test_lead_qualification_table() -> None:
    t = evaluate_tables(Dataset(frames={"leads": leads_frame()}), ["lead_qualification"])
    t = t["lead_qualification"]
    # A: l1 converted, l3 not -> 1/2; B: l2 no -> 0; (none): l4 yes -> 1.
    rows = {r["qualification"]: r for r in t.iter_rows(named=True)}
    assert rows["A"]["leads"] == 2 and rows["A"]["conversion_rate"] == 0.5
    assert rows["B"]["conversion_rate"] == 0.0
    assert rows["(none)"]["conversion_rate"] == 1.0
    assert t["qualification"][0] == "(none)"  # best converting first


def test_lead_qualification_by_owner() -> None:
    from crmkpi.metrics import Grain

    ds = Dataset(frames={"leads": leads_frame()})
    t = evaluate_tables(ds, ["lead_qualification"], Grain(by=("owner",)))["lead_qualification"]
    # x: l1 (A, converted), l4 (no band, converted); y: l2 (B, not), l3 (A, unknown: not).
    # Each band is half of its owner's two leads.
    assert t.select(
        "owner", "qualification", "leads", "conversion_rate", "share_of_leads"
    ).rows() == [
        ("x", "(none)", 1, 1.0, 0.5),
        ("x", "A", 1, 1.0, 0.5),
        ("y", "A", 1, 0.0, 0.5),
        ("y", "B", 1, 0.0, 0.5),
    ]


def test_sources_table() -> None:
    deals = pl.DataFrame(
        {
            "source": ["web", "ads", "ads"],
            "status": ["won", "won", "lost"],
            "amount": [100.0, 300.0, 50.0],
            "created_at": [dt(2024, 1, 1)] * 3,
            "closed_at": [dt(2024, 1, 5)] * 3,
        }
    )
    spend = pl.DataFrame(
        {"date": [dt(2024, 1, 1), dt(2024, 1, 1)], "source": ["web", "ads"],
         "amount": [40.0, 600.0]}
    )  # fmt: skip
    ds = Dataset(frames={"leads": leads_frame(), "deals": deals, "spend": spend})
    t = evaluate_tables(ds, ["sources"])["sources"]
    rows = {r["source"]: r for r in t.iter_rows(named=True)}
    # web: leads l1 l3, conversion 1/2, 1 deal won 100, spend 40 -> CPL 20, CAC 40.
    assert rows["web"]["leads"] == 2 and rows["web"]["conversion_rate"] == 0.5
    assert rows["web"]["deals_won"] == 1 and rows["web"]["revenue"] == 100.0
    assert rows["web"]["cost_per_lead"] == 20.0 and rows["web"]["cac"] == 40.0
    # ads: l2 l4 (1/2), 1 won 300 (lost not counted), spend 600 -> CPL 300, CAC 600.
    assert rows["ads"]["cost_per_lead"] == 300.0 and rows["ads"]["cac"] == 600.0


def test_sales_payroll_is_not_a_lead_source() -> None:
    # Spend by channel: "Sales team" (payroll: sales by its name, no lead or deal names it),
    # "Outbound" (sales by its name, but the leads l2 and l4 came from it) and "Trade fair"
    # (marketing, no lead: its cost still shows). A source table listing every spend channel
    # would show "Sales team" as a source with 5,000 of spend and no leads.
    leads = leads_frame().with_columns(pl.Series("source", ["web", "Outbound", "web", "Outbound"]))
    spend = pl.DataFrame(
        {"date": [dt(2024, 1, 1)] * 3, "source": ["Sales team", "Outbound", "Trade fair"],
         "amount": [5000.0, 300.0, 80.0]}
    )  # fmt: skip
    ds = Dataset(frames={"leads": leads, "spend": spend})
    rows = {r["source"]: r for r in evaluate_tables(ds, ["sources"])["sources"].to_dicts()}
    assert set(rows) == {"web", "Outbound", "Trade fair"}
    # Outbound: 300 of spend over its 2 leads = 150 a lead.
    assert rows["Outbound"]["spend"] == 300.0 and rows["Outbound"]["cost_per_lead"] == 150.0
    assert rows["Trade fair"]["spend"] == 80.0 and rows["Trade fair"]["leads"] is None


def activities_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": ["1", "2", "3", "4", "5"],
            "type": ["call", "call", "email", "meeting", "call"],
            "owner": ["x", "y", "x", "x", "x"],
            "at": [dt(2024, 1, 2), dt(2024, 1, 3), dt(2024, 2, 2), dt(2024, 2, 3),
                   dt(2024, 2, 4)],
            "deal_id": ["a", "a", "d", None, "b"],
            "success": [True, False, None, True, True],
        }
    )  # fmt: skip


def test_activity_kpis() -> None:
    from metric_frames import deals_frame

    ds = Dataset(frames={"activities": activities_frame(), "deals": deals_frame()})
    got = evaluate(ds, ["activities_total", "activity_success_rate", "activities_per_won_deal"])
    assert one(got, "activities_total") == 5
    assert one(got, "activity_success_rate") == 0.75  # 3 of the 4 with an outcome
    # Won deals a (2 activities), d (1), e (0): 3 / 3.
    assert one(got, "activities_per_won_deal") == 1.0
    monthly = evaluate(ds, ["activities_total"], Grain(period="month"))["activities_total"]
    assert monthly["value"].to_list() == [2, 3]


def test_activities_table() -> None:
    t = evaluate_tables(Dataset(frames={"activities": activities_frame()}), ["activities"])
    t = t["activities"]
    # call/x: 1 and 5 (both success) -> 2; call/y 1; email/x 1; meeting/x 1.
    assert t.row(0, named=True) == {"type": "call", "owner": "x", "activities": 2,
                                    "success_rate": 1.0, "share": 0.4}  # fmt: skip
    assert t["activities"].sum() == 5


def test_nps() -> None:
    nps = pl.DataFrame(
        {"score": [10, 9, 9, 7, 3, 11], "answered_at": [dt(2024, 1, 1)] * 5 + [dt(2024, 2, 1)],
         "segment": ["a", "a", "b", "b", "b", "a"]}
    )  # fmt: skip
    ds = Dataset(frames={"nps": nps})
    got = evaluate(ds, ["nps", "nps_responses", "promoters", "passives", "detractors"])
    # 11 is out of range. Promoters 3, passive 1, detractor 1 of 5: (3 - 1) / 5 = 40.
    assert one(got, "nps_responses") == 5
    assert (one(got, "promoters"), one(got, "passives"), one(got, "detractors")) == (3, 1, 1)
    assert one(got, "nps") == 40.0
    by_segment = evaluate(ds, ["nps"], Grain(by=("segment",)))["nps"]
    # a: 10, 9 -> 100; b: 9, 7, 3 -> (1 - 1) / 3 = 0.
    assert by_key(by_segment, "segment") == {"a": 100.0, "b": 0.0}
    monthly = evaluate(ds, ["nps"], Grain(period="month"))["nps"]
    assert monthly["value"].to_list() == [40.0, None]  # February has no valid answer


def test_sources_keep_currencies_apart() -> None:
    deals = pl.DataFrame(
        {
            "source": ["web", "web"],
            "status": ["won", "won"],
            "amount": [100.0, 50.0],
            "currency": ["USD", "EUR"],
            "created_at": [dt(2024, 1, 1)] * 2,
            "closed_at": [dt(2024, 1, 5)] * 2,
        }
    )
    spend = pl.DataFrame(
        {"date": [dt(2024, 1, 1)] * 2, "source": ["web", "web"], "amount": [30.0, 20.0],
         "currency": ["USD", "EUR"]}
    )  # fmt: skip
    leads = leads_frame().filter(pl.col("source") == "web")
    t = evaluate_tables(Dataset(frames={"leads": leads, "deals": deals, "spend": spend}),
                        ["sources"])["sources"]  # fmt: skip
    rows = {r["currency"]: r for r in t.iter_rows(named=True)}
    # Two web leads and two web deals won on each currency's row; money stays per currency.
    assert rows["EUR"]["revenue"] == 50.0 and rows["EUR"]["spend"] == 20.0
    assert rows["EUR"]["cost_per_lead"] == 10.0 and rows["EUR"]["cac"] == 10.0
    assert rows["USD"]["revenue"] == 100.0 and rows["USD"]["cost_per_lead"] == 15.0
    assert rows["USD"]["deals_won"] == 2 and rows["USD"]["leads"] == 2


def test_business_minutes_convert_from_the_data_time_zone() -> None:
    leads = pl.DataFrame(
        {"id": ["t1"], "created_at": [dt(2024, 2, 1, 6)], "first_contact_at": [dt(2024, 2, 1, 9)]}
    )
    ds = Dataset(frames={"leads": leads})
    hours = {"start": "09:00", "end": "17:00", "timezone": "Europe/Athens"}
    kpi = "lead_response_business_minutes_median"
    # Read as Athens wall time: 06:00 -> 09:00 lies before the working day: 0 minutes.
    assert one(evaluate(ds, [kpi], config=Config(working_hours=hours)), kpi) == 0.0
    # Written in UTC: 08:00 -> 11:00 in Athens (UTC+2 in winter): 09:00-11:00 = 120 minutes.
    utc = Config(working_hours={**hours, "data_timezone": "UTC"})
    assert one(evaluate(ds, [kpi], config=utc), kpi) == 120.0


def test_bad_working_hours_are_a_config_error() -> None:
    from crmkpi.errors import ConfigError

    ds = Dataset(frames={"leads": leads_frame()})
    bad = Config(working_hours={"start": "9am"})
    with pytest.raises(ConfigError, match="HH:MM"):
        evaluate(ds, ["lead_response_business_minutes_median"], config=bad)


def test_leads_older_than_the_activity_log_have_no_known_response() -> None:
    """The activities start on Mar 1: a lead created in January had touches the export does
    not hold, so its first linked activity (Mar 2) is not its first response."""
    leads = pl.DataFrame(
        {"id": ["old", "new"], "created_at": [dt(2024, 1, 5, 9), dt(2024, 3, 1, 8)]}
    )
    acts = pl.DataFrame(
        {
            "id": ["1", "2", "3"],
            "at": [dt(2024, 3, 1, 7), dt(2024, 3, 1, 9), dt(2024, 3, 2, 9)],
            "lead_id": [None, "new", "old"],
        }
    )
    ds = Dataset(frames={"leads": leads, "activities": acts})
    got = evaluate(ds, ["lead_response_minutes_median", "lead_response_sla_rate"])
    # new: 08:00 -> 09:00 = 60 min, within the 60-minute SLA; old: left out, not "missed"
    # (with it: median of 60 and 57 days + 0 h = 82,080 min -> 41,070; SLA 1 of 2)
    assert one(got, "lead_response_minutes_median") == 60.0
    assert one(got, "lead_response_sla_rate") == 1.0
