"""An Iranian CRM's deals: Persian headers, digits and stage phrases, Jalali dates, no config."""

from __future__ import annotations

from pathlib import Path

import crmkpi

DEALS = """شناسه,نام معامله,مسئول,مرحله,مبلغ,تاریخ ایجاد,تاریخ بستن
۱,قرارداد الف,علی,برنده شد,۱۲٬۵۰۰٬۰۰۰,۱۴۰۳/۰۱/۱۵,۱۴۰۳/۰۲/۲۰
۲,قرارداد ب,مریم,از دست رفت,۸٬۰۰۰٬۰۰۰,۱۴۰۳/۰۱/۲۰,۱۴۰۳/۰۳/۰۱
۳,قرارداد ج,علی,مذاکره,۵٬۰۰۰٬۰۰۰,۱۴۰۳/۰۲/۰۱,
۴,قرارداد د,مریم,برنده شد,۲۰٬۰۰۰٬۰۰۰,۱۴۰۳/۰۲/۱۰,۱۴۰۳/۰۴/۰۵
"""


def test_persian_stage_phrases_close_deals(tmp_path: Path) -> None:
    (tmp_path / "deals.csv").write_text(DEALS, encoding="utf-8")
    ds = crmkpi.load(tmp_path / "deals.csv", cache=False)
    status = dict(ds.frames["deals"].select("id", "status").iter_rows())
    # "برنده شد" (won), "از دست رفت" (was lost), "مذاکره" (negotiation: open).
    assert status == {"۱": "won", "۲": "lost", "۳": "open", "۴": "won"}
    cycle = crmkpi.metric(ds, "sales_cycle_days_median", by="owner")
    by_owner = dict(cycle.select("owner", "sales_cycle_days_median").iter_rows())
    # Ali: 1403/01/15 -> 1403/02/20 = 16 days left of Farvardin (31) + 20 = 36.
    # Maryam: 1403/02/10 -> 1403/04/05 = 21 left of Ordibehesht (31) + 31 of Khordad + 5 = 57.
    assert by_owner == {"علی": 36.0, "مریم": 57.0}
