"""How units read: multiples as 3.0x, ratios as percentages, score changes in points."""

from __future__ import annotations

from crmkpi.metrics import CATALOG
from crmkpi.reporting.excel import number_format
from crmkpi.reporting.format import format_value


def test_multiples_are_declared_as_such() -> None:
    for kpi_id in ("clv_cac_ratio", "quick_ratio", "pipeline_coverage"):
        assert CATALOG[kpi_id].unit == "multiple"
    # Shares of a whole stay ratios, shown as percentages.
    assert CATALOG["win_rate"].unit == "ratio"


def test_a_multiple_prints_with_an_x() -> None:
    # CLV 35,280 / CAC 3,000 = 11.76 -> "11.8x"; a ratio of 0.286 -> "28.6%".
    assert format_value(35_280 / 3_000, "multiple") == "11.8x"
    assert format_value(0.286, "ratio") == "28.6%"


def test_excel_formats_a_multiple_as_a_number_with_x() -> None:
    assert number_format("multiple") == '0.0"x"'
    assert number_format("ratio") == "0.0%"


def test_a_score_changes_by_points() -> None:
    from crmkpi.reporting.format import format_change
    from crmkpi.reporting.model import KpiValue

    # NPS from 0.0 to 14.6: +14.6 points (a relative change from zero is undefined).
    kpi = KpiValue("nps", "Net Promoter Score", "score", 14.6, delta=14.6, change=None)
    assert format_change(kpi) == "▲14.6 pts"
    assert format_change(kpi, ascii_only=True) == "+14.6 pts"


def test_the_period_header_is_the_deals_span_naming_tables_that_reach_further() -> None:
    from datetime import datetime

    from conftest import hand_report

    from crmkpi.reporting.format import covered_text

    report = hand_report()
    report.window = (None, None)
    # the data's span, stretched by subscriptions begun in 2019 and activities planned
    # after the as-of moment (the span's end, 2025-06-28)
    report.data_span = (datetime(2019, 3, 1), datetime(2025, 6, 28))
    report.table_spans = {
        "deals": (datetime(2025, 1, 3), datetime(2025, 6, 27)),
        "leads": (datetime(2024, 12, 20), datetime(2025, 6, 28)),  # 14 days earlier: not named
        "subscriptions": (datetime(2019, 3, 1), datetime(2025, 6, 1)),
        "activities": (datetime(2025, 1, 5), datetime(2025, 9, 30)),
    }
    assert covered_text(report) == (
        "2025-01-03 .. 2025-06-28 (the deals' dates; subscriptions from 2019-03-01, "
        "activities planned to 2025-09-30)"
    )
    report.table_spans = {"deals": (datetime(2025, 1, 3), datetime(2025, 6, 27))}
    assert covered_text(report) == "2025-01-03 .. 2025-06-28 (the deals' dates)"
