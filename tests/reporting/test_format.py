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
