"""Evidence beyond header aliases that a file is not the table its headers resemble.

A history or a child table carries its parent's headers: Salesforce's OpportunityHistory has an
Id, a StageName and a CreatedDate like the opportunities; line items and invoices carry amounts
and dates. Header scores alone read them as deals. These rules look at what the headers cannot
say: the file's name (a history, a child record, a data dictionary), a foreign deal id beside the
file's own id, whether an id repeats, which property a change row is about.
`crmkpi.io.table_choice` applies them once the headers are scored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import polars as pl

from crmkpi.errors import UnknownTableError
from crmkpi.io.vocabulary import Preset, normalise_header
from crmkpi.schema import TABLES

# Words in a file name that hint at its table, in any language the aliases cover.
FILE_WORDS: dict[str, tuple[str, ...]] = {
    "deals": ("deal", "opportunit", "potential", "pipeline", "сделк", "معامل", "فرصت", "ευκαιρ",
              "oportunidad", "negocio", "oportunitat", "chance", "affaire", "opportunit", "fırsat"),
    "stage_history": ("history", "histor", "flow", "stage", "stage change", "stagechange", "истори",
                      "تاریخچه", "ιστορικ", "historial", "verlauf", "storico", "geçmiş"),
    "leads": ("lead", "mql", "prospect", "inquir", "лид", "سرنخ", "υποψήφ", "cliente potencial"),
    "activities": ("activit", "call", "task", "event", "meeting", "engagement", "звонк", "дела",
                   "δραστηρ", "actividad", "aktivit", "attivit"),
    "spend": ("spend", "cost", "campaign", "ads", "budget", "расход", "هزینه", "δαπάν", "gasto"),
    "subscriptions": ("subscription", "mrr", "billing", "churn", "подписк", "اشتراک", "συνδρομ"),
    "nps": ("nps", "survey", "feedback", "опрос", "نظرسنجی", "έρευνα", "encuesta"),
}  # fmt: skip

# Records a full CRM export holds beside the canonical tables. A file named after one of them
# (and after no canonical table) is not guessed into a table by a chance header match: Salesforce's
# Product2 or a Zoho Invoices file has an Id and a CreatedDate too, but holds no leads.
OTHER_RECORD_WORDS = ("account", "contact", "user", "role", "product", "pricebook", "recordtype",
                      "case", "invoice", "quote", "order", "company", "companies", "owner",
                      "territor", "vendor", "solution", "price", "team", "plan")  # fmt: skip

# Records a file name announces that no KPI reads, even when it also names a canonical table:
# "opportunity line items" are about deals but are not deals, a billing system's invoices,
# transactions and plans sit beside its subscriptions.
CHILD_RECORD_WORDS: dict[str, str] = {
    "lineitem": "line items (one row per product of a deal or an invoice)",
    "invoice": "invoices",
    "transaction": "payment transactions",
    "payment": "payments",
    "creditnote": "credit notes",
    "coupon": "coupons",
    "refund": "refunds",
}

# Words naming a file that describes columns rather than holding rows.
DOCUMENT_WORDS = ("dictionary", "codebook", "glossary", "readme", "variables", "metadata")

# Words saying a file holds earlier versions or changes of records, not the records themselves.
# ("snapshot" is not one: a "pipeline snapshot" is usually the deals as of a day.)
HISTORY_WORDS = ("history", "histories", "historie", "stagechange", "changelog", "verlauf",
                 "historial", "storico")  # fmt: skip

# "Opportunity Id", "deal_id", "PotentialId": a deal referred to from another record.
_DEAL_REFERENCE = re.compile(r"^(?:opportunity|deal|potential|opp)\s?id$")

# Headers of a child table that lists products (quantity, unit price) under its parent.
_LINE_ITEM_HEADERS = {"quantity", "unit price", "list price", "product code", "product id",
                      "product 2 id", "pricebook entry id", "total price"}  # fmt: skip


def name_stem(file_name: str) -> str:
    """Letters only, casefolded: "sf_line_item_data.csv" -> "sflineitemdata"."""
    return re.sub(r"[^a-z]", "", Path(file_name).stem.casefold())


def child_record(file_name: str) -> str | None:
    """What a file's name says it holds when that is a record no KPI reads."""
    stem = name_stem(file_name)
    if any(w in stem for w in DOCUMENT_WORDS):
        return "a data dictionary (it describes columns, it holds no records)"
    return next((what for word, what in CHILD_RECORD_WORDS.items() if word in stem), None)


def is_history_name(file_name: str) -> bool:
    """Whether the name says the file holds changes or past versions of records."""
    stem = name_stem(file_name)
    return any(w in stem for w in HISTORY_WORDS)


def without_history_words(file_name: str) -> str:
    """The name's stem with its history words removed: what the history is a history of."""
    stem = name_stem(file_name)
    for word in HISTORY_WORDS:
        stem = stem.replace(word, " ")
    return stem


def deal_reference(headers: list[str], used: set[str]) -> str | None:
    """A header naming a deal by id that the deals mapping left unused: the file's rows refer to
    deals, so they are not the deals."""
    return next(
        (h for h in headers if h not in used and _DEAL_REFERENCE.match(normalise_header(h))),
        None,
    )


def lists_products(headers: list[str]) -> bool:
    """Two or more product-line headers (quantity, unit price, product code...)."""
    return len({normalise_header(h) for h in headers} & _LINE_ITEM_HEADERS) >= 2


# Headers dating a version of a record: a file with one and a repeating id is a snapshot history.
_VERSION_HEADERS = {"fivetran start", "valid from", "snapshot date", "as of date", "as of",
                    "date day", "snapshot at", "version"}  # fmt: skip


def dates_versions(headers: list[str]) -> str | None:
    """A header dating each version of a record (Fivetran's `_fivetran_start`, `snapshot_date`)."""
    return next((h for h in headers if normalise_header(h) in _VERSION_HEADERS), None)


# A property history (HubSpot's deal property history, an audit log) names the property each
# row changed in one of these headers, beside a generic "value"; only the deal-stage rows are
# stage changes.
PROPERTY_HEADERS = ("property", "property name", "field", "field name", "name")
GENERIC_VALUE_HEADERS = frozenset({"value", "new value"})
STAGE_PROPERTIES = frozenset({"dealstage", "deal stage", "stage", "stage name", "stage id",
                              "deal stage id", "opportunity stage"})  # fmt: skip


class ColumnValues:
    """A file's non-empty values by header, looked at only where the headers leave a doubt."""

    def __init__(self, read: Callable[[str], pl.Series]) -> None:
        self._read = read

    def repeats(self, header: str) -> bool:
        """Whether some value of the column appears twice."""
        values = self._read(header)
        return values.n_unique() < values.len()

    def distinct(self, header: str) -> list[str]:
        return self._read(header).unique(maintain_order=True).to_list()


def file_bonus(table: str, file_name: str, preset: Preset | None) -> float:
    """4 when the file name holds this table's most specific word ("opportunityhistory" beats
    "opportunit"), else 0."""
    name = file_name.casefold()

    def longest(t: str) -> int:
        words = FILE_WORDS.get(t, ()) + (preset.table_hints.get(t, ()) if preset else ())
        return max((len(w) for w in words if w.casefold() in name), default=0)

    mine = longest(table)
    return 4.0 if mine and mine >= max(longest(t) for t in TABLES) else 0.0


def other_record(file_name: str, preset: Preset | None) -> str | None:
    """The non-canonical record kind a file's name announces ("account"), unless the name also
    names a canonical table ("OpportunityContactRole" is about deals). In a history's name the
    history words do not count: "account_history" is about accounts."""
    stem = without_history_words(file_name) if is_history_name(file_name) else name_stem(file_name)
    if any(file_bonus(t, stem, preset) for t in TABLES):
        return None
    return next((w for w in OTHER_RECORD_WORDS if w in stem), None)


def settle_hint(file_name: str, table: str = "...") -> str:
    """The config lines that name a file's table."""
    key = re.sub(r"[^A-Za-z0-9_-]", "_", Path(file_name).stem) or "source"
    return (
        f'to read it, say so in crmkpi.toml: [sources.{key}] path = "{Path(file_name).name}" '
        f'table = "{table}"'
    )


def refuse_by_name(file_name: str, preset: Preset | None) -> None:
    """A name announcing records no KPI reads (invoices, line items, a data dictionary,
    accounts) is not guessed into a table by a chance header match."""
    child = child_record(file_name)
    if child:
        raise UnknownTableError(f"holds {child}, which no KPI reads", path=file_name,
                                hint=settle_hint(file_name))  # fmt: skip
    other = other_record(file_name, preset)
    if other:
        raise UnknownTableError(f"holds {other} records, which no KPI reads", path=file_name,
                                hint=settle_hint(file_name))  # fmt: skip
