"""Evidence beyond header aliases that a file is not the table its headers resemble.

A history or a child table carries its parent's headers: Salesforce's OpportunityHistory has an
Id, a StageName and a CreatedDate like the opportunities; line items and invoices carry amounts
and dates. Header scores alone read them as deals. These rules look at what the headers cannot
say: the file's name (a history, a child record, a data dictionary), a foreign deal id beside the
file's own id, and whether an id repeats. `mapping.map_headers` applies them before it picks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from crmkpi.io.vocabulary import normalise_header

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
    "propertyhistory": "the history of every property (not only the stage)",
    "fieldhistory": "the history of every field (not only the stage)",
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


ValueRepeats = Callable[[str], bool]
