"""Northwind Software, the demo company: writes its CRM, billing and survey exports.

The files imitate real exports (HubSpot deals, Salesforce opportunity history, Zoho leads,
Pipedrive activities, a finance XLSX, a Chargebee-like billing export, a European survey CSV) so
that `crmkpi report sample_data/` exercises every importer path. Everything is drawn from one
fixed seed with the standard library only (no crmkpi import), and written in a fixed order, so
two runs give byte-identical files.

    .venv/bin/python sample_data/generate.py [--out FOLDER]
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import zipfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from northwind import STAGE_PROBABILITY
from northwind_accounts import World, build_world

if TYPE_CHECKING:
    from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
HUBSPOT_TIME = "%Y-%m-%d %H:%M"
SALESFORCE_TIME = "%Y-%m-%dT%H:%M:%SZ"
ZOHO_TIME = "%Y-%m-%d %H:%M"
PIPEDRIVE_TIME = "%Y-%m-%d %H:%M"
EUROPEAN_TIME = "%d.%m.%Y %H:%M"
XLSX_STAMP = (2026, 11, 1, 6, 0, 0)

DEAL_HEADERS = [
    "Record ID", "Deal Name", "Deal Stage", "Pipeline", "Amount", "Currency", "Deal probability",
    "Create Date", "Close Date", "Deal owner", "HubSpot Team", "Original Source", "Priority",
    "Closed Lost Reason", "Associated Company IDs",
]  # fmt: skip
LEAD_HEADERS = [
    "Lead Id", "Lead Owner", "Lead Source", "Lead Status", "Rating", "Created Time",
    "First Contacted", "Converted", "Converted Date", "Account Id",
]  # fmt: skip
ACTIVITY_HEADERS = [
    "ID", "Type", "Assigned to user", "Due date", "Done", "Outcome", "Deal ID", "Lead ID",
]  # fmt: skip
SUBSCRIPTION_HEADERS = [
    "Subscription Id", "Customer Id", "Customer Company", "Plan", "Status", "Currency", "MRR",
    "Started At", "Ended At", "Cancel Reason", "Change Type", "Term (months)",
]  # fmt: skip
NPS_HEADERS = [
    "Response ID", "Submitted At", "Customer ID", "Plan", "NPS Score", "Comment", "Duration (min)",
]  # fmt: skip


def _csv_bytes(
    header: list[str],
    rows: list[list[object]],
    *,
    delimiter: str = ",",
    quoting: int = csv.QUOTE_MINIMAL,
    newline: str = "\n",
    bom: bool = False,
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" if bom else "").encode() + buffer.getvalue().encode("utf-8")


def _time(value: datetime | None, fmt: str) -> str:
    return "" if value is None else value.strftime(fmt)


def _money(value: float) -> str:
    """Amounts as exports write them: no thousands separator, cents only when there are some."""
    return f"{value:.0f}" if value == int(value) else f"{value:.2f}"


def deals_csv(world: World) -> bytes:
    rows = []
    for deal in world.deals:
        stage = deal.stage
        rows.append(
            [
                deal.id,
                deal.name,
                stage,
                deal.pipeline,
                "" if deal.amount is None else _money(deal.amount),
                "EUR",
                f"{STAGE_PROBABILITY[stage]:g}",
                _time(deal.created_at, HUBSPOT_TIME),
                _time(deal.closed_at or deal.expected_close_at, HUBSPOT_TIME),
                deal.rep.name,
                deal.rep.team,
                deal.source,
                deal.priority,
                deal.lost_reason,
                deal.company.id,
            ]
        )
    return _csv_bytes(DEAL_HEADERS, rows)


def history_csv(world: World) -> bytes:
    """Salesforce OpportunityHistory fields (OpportunityId, StageName, CreatedDate), UTC with Z."""
    rows = [
        [deal.id, stage, _time(at, SALESFORCE_TIME)]
        for deal in world.deals
        for stage, at in deal.path
    ]
    return _csv_bytes(["OpportunityId", "StageName", "CreatedDate"], rows)


def leads_csv(world: World) -> bytes:
    rows = [
        [
            lead.id,
            lead.rep.name,
            lead.source,
            lead.status,
            lead.rating,
            _time(lead.created_at, ZOHO_TIME),
            _time(lead.first_contact_at, ZOHO_TIME),
            "Yes" if lead.converted_at else "No",
            _time(lead.converted_at, ZOHO_TIME),
            lead.company.id if lead.converted_at else "",
        ]
        for lead in world.leads
    ]
    return _csv_bytes(LEAD_HEADERS, rows)


def activities_xlsx(world: World) -> bytes:
    """Pipedrive's activity list exported as Excel: ids as numbers, times as Excel dates."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Activities"
    sheet.append(ACTIVITY_HEADERS)
    for number, a in enumerate(world.activities, start=1):
        sheet.append(
            [
                number,
                a.type,
                a.owner,
                a.at,
                "Yes" if a.done else "No",
                a.outcome or None,
                int(a.deal_id) if a.deal_id else None,
                int(a.lead_id) if a.lead_id else None,
            ]
        )
    for (cell,) in sheet.iter_rows(min_row=2, min_col=4, max_col=4):
        cell.number_format = "yyyy-mm-dd hh:mm"
    sheet.column_dimensions["C"].width = 16
    sheet.column_dimensions["D"].width = 17
    return _xlsx_bytes(book)


def subscriptions_csv(world: World) -> bytes:
    rows = [
        [
            s.id,
            s.customer.id,
            s.customer.name,
            s.plan,
            s.status,
            "EUR",
            f"{s.mrr:.2f}",
            s.start.isoformat(),
            "" if s.end is None else s.end.isoformat(),
            s.cancel_reason,
            s.change,
            "12",  # annual contracts: each renews (or not) on its anniversary
        ]
        for s in world.subscriptions
    ]
    return _csv_bytes(SUBSCRIPTION_HEADERS, rows)


def nps_csv(world: World) -> bytes:
    """A survey export saved by a German Excel: semicolons, day-first dates, decimal comma."""
    rows = [
        [
            f"R{index:05d}",
            _time(a.at, EUROPEAN_TIME),
            a.customer.id,
            a.plan,
            "" if a.score is None else a.score,
            a.comment,
            f"{a.duration_minutes:.1f}".replace(".", ","),
        ]
        for index, a in enumerate(world.nps, start=1001)
    ]
    return _csv_bytes(NPS_HEADERS, rows, delimiter=";", newline="\r\n", bom=True)


def spend_xlsx(world: World) -> bytes:
    """Finance's monthly spend sheet: a title row, a blank row, then the table."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Spend 2025-2026"
    sheet["A1"] = "Northwind Software — marketing & sales spend by channel (EUR)"
    sheet["A1"].font = Font(bold=True, size=13)
    header = ["Month", "Channel", "Category", "Amount", "Currency"]
    sheet.append([])
    sheet.append(header)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for row in world.spend:
        sheet.append([row.month, row.channel, row.category, row.amount, "EUR"])
        sheet.cell(sheet.max_row, 1).number_format = "mmm yyyy"
        sheet.cell(sheet.max_row, 4).number_format = "#,##0.00"
    for column, width in zip("ABCDE", (12, 18, 12, 12, 10), strict=True):
        sheet.column_dimensions[column].width = width
    book.properties.creator = "Northwind Finance"
    return _xlsx_bytes(book)


def _xlsx_bytes(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return _pin_zip(buffer.getvalue(), datetime(*XLSX_STAMP))


def _pin_zip(data: bytes, fixed: datetime) -> bytes:
    """Rewrite the XLSX zip with fixed entry times and document dates, for identical bytes."""
    stamp = fixed.strftime("%Y-%m-%dT%H:%M:%SZ")
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = content.decode()
                pattern = r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)"
                text = re.sub(pattern, rf"\g<1>{stamp}\3", text)
                content = text.encode()
            entry = zipfile.ZipInfo(info.filename, date_time=XLSX_STAMP)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, content)
    return out.getvalue()


WRITERS = {
    "deals.csv": deals_csv,
    "opportunity_history.csv": history_csv,
    "leads.csv": leads_csv,
    "activities.xlsx": activities_xlsx,
    "spend.xlsx": spend_xlsx,
    "subscriptions.csv": subscriptions_csv,
    "nps.csv": nps_csv,
}


def generate(out: Path) -> dict[str, int]:
    """Write every export into `out`; returns the byte size of each file."""
    world = build_world()
    out.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for name, writer in WRITERS.items():
        data = writer(world)
        (out / name).write_bytes(data)
        sizes[name] = len(data)
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write (default: here)")
    args = parser.parse_args()
    sizes = generate(args.out)
    for name, size in sizes.items():
        print(f"{name:26} {size:>9,} bytes")
    print(f"{'total':26} {sum(sizes.values()):>9,} bytes")


if __name__ == "__main__":
    main()
