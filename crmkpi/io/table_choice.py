"""Which table a file holds when its headers fit several: the evidence beyond header scores.

`mapping.map_headers` scores every table by its headers; these rules then drop the tables a file
cannot be (crmkpi.io.recognition: a foreign deal id, a history's name, a version date beside a
repeating id), refuse a name that announces a table the headers do not fit, and refuse to pick
between two tables that fit equally well. Without a fitting table, `no_table_error` says which
table came closest and what it lacks.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from crmkpi.config import SourceConfig
from crmkpi.errors import InputError, UnknownTableError
from crmkpi.io.recognition import (
    GENERIC_VALUE_HEADERS,
    PROPERTY_HEADERS,
    STAGE_PROPERTIES,
    ColumnValues,
    dates_versions,
    deal_reference,
    file_bonus,
    is_history_name,
    lists_products,
    settle_hint,
    without_history_words,
)
from crmkpi.io.vocabulary import Preset, languages, normalise_header
from crmkpi.schema import TABLES

if TYPE_CHECKING:
    from crmkpi.io.mapping import ColumnMatch

    # table -> (score, its matched columns); a score below 0 when a required column is missing
    Candidates = dict[str, tuple[float, list[ColumnMatch]]]

# Tables a history file can hold: stage changes, or a subscription's successive periods. A
# history of deals, leads or accounts is not those records.
HISTORY_TABLES = ("stage_history", "subscriptions")


class AmbiguousTableError(UnknownTableError):
    """Two tables fit a file about equally well: it is not read until a config names one."""

    def __init__(self, message: str, *, tables: tuple[str, str], **place: str | None) -> None:
        super().__init__(message, **place)  # type: ignore[arg-type]
        self.tables = tables


def weigh_evidence(
    viable: Candidates,
    candidates: Candidates,
    headers: list[str],
    file_name: str,
    values: ColumnValues | None,
    preset: Preset | None,
) -> Candidates:
    """Drop the tables the file cannot be whatever its headers score (crmkpi.io.recognition),
    and refuse to pick between two that fit equally well."""
    named = named_table(file_name, preset)
    if named is not None and named not in viable:
        # "subscriptions.csv" without an MRR column is not leads because it has an id and a date
        raise no_table_error(headers, file_name, {named: candidates[named]}, None)
    if "deals" in viable:
        viable = _deal_evidence(viable, headers, file_name, values)
    if is_history_name(file_name):
        viable = _history_tables(viable, file_name)
    _refuse_snapshot(viable, headers, file_name, values)
    ranked = sorted(viable, key=lambda t: viable[t][0], reverse=True)
    if len(ranked) > 1 and viable[ranked[0]][0] - viable[ranked[1]][0] < AMBIGUITY_MARGIN:
        first, second = ranked[:2]
        raise AmbiguousTableError(
            f"ambiguous: fits {first} and {second} equally well "
            f"(scores {viable[first][0]:g} and {viable[second][0]:g})",
            path=file_name,
            hint=settle_hint(file_name, first),
            tables=(first, second),
        )
    return viable


def _deal_evidence(
    viable: Candidates, headers: list[str], file_name: str, values: ColumnValues | None
) -> Candidates:
    """Deals are ruled out by a foreign deal id (the rows are about deals: changes, line items)
    or, when the headers fit stage history as well, by a deal id that repeats."""
    deals = viable["deals"]
    reference = deal_reference(headers, {m.header for m in deals[1]})
    if reference is not None and lists_products(headers):
        raise UnknownTableError(
            f"holds line items (products of the deal in {reference!r}), which no KPI reads",
            path=file_name, hint=settle_hint(file_name))  # fmt: skip
    if reference is not None:
        rest = {t: v for t, v in viable.items() if t != "deals"}
        if not rest:
            raise UnknownTableError(
                f"refers to deals by {reference!r}: its rows are about deals, not deals",
                path=file_name, hint=settle_hint(file_name))  # fmt: skip
        return rest
    history = viable.get("stage_history")
    if history is None or values is None or abs(deals[0] - history[0]) >= AMBIGUITY_MARGIN:
        return viable
    # the headers fit both equally: a deal id seen twice beside a stage and a date is a
    # deal's changes; seen once, the deal
    deal_id = next(m.header for m in history[1] if m.canonical == "deal_id")
    not_it = "deals" if values.repeats(deal_id) else "stage_history"
    return {t: v for t, v in viable.items() if t != not_it}


def stage_property_rows(
    table: str,
    matches: list[ColumnMatch],
    headers: list[str],
    file_name: str,
    values: ColumnValues | None,
) -> tuple[str, tuple[str, ...]] | None:
    """For a property history read as stage history (a property column beside a generic
    "value"): the property header and its values that mean the deal stage. Its other rows
    change other properties; read as stages they would be stages named after amounts and
    dates. Without any deal-stage row the file is refused."""
    stage = next((m.header for m in matches if m.canonical == "stage"), None)
    if table != "stage_history" or values is None or stage is None:
        return None
    if normalise_header(stage) not in GENERIC_VALUE_HEADERS:
        return None
    used = {m.header for m in matches}
    by_norm = {normalise_header(h): h for h in headers if h not in used}
    prop = next((by_norm[p] for p in PROPERTY_HEADERS if p in by_norm), None)
    if prop is None:
        return None
    names = values.distinct(prop)
    kept = tuple(v for v in names if normalise_header(v) in STAGE_PROPERTIES)
    if not kept:
        raise UnknownTableError(
            f"holds the history of every property ({len(names)} in {prop!r}) and none of them "
            "is the deal stage",
            path=file_name,
            hint="its rows whose property is the deal stage (dealstage) would be read as stage "
            "history; the export's deal-stage table is the one to read",
        )
    return prop, kept


def _refuse_snapshot(
    viable: Candidates, headers: list[str], file_name: str, values: ColumnValues | None
) -> None:
    """Deals whose id repeats beside a version date (one row per deal per day or version) are
    a snapshot history: read as deals, each deal would count once per version."""
    best = max(viable, key=lambda t: viable[t][0])
    version = dates_versions(headers)
    if best != "deals" or version is None or values is None:
        return
    deal_id = next((m.header for m in viable["deals"][1] if m.canonical == "id"), None)
    if deal_id is not None and values.repeats(deal_id):
        raise UnknownTableError(
            f"a history of deals: {deal_id!r} repeats, one row per deal per {version!r}; "
            "read as deals, each deal would count once per version",
            path=file_name,
            hint="the current deals export holds the deals; keep only the latest version of "
            "each deal to read this file",
        )


def named_table(file_name: str, preset: Preset | None) -> str | None:
    """The table a file's name announces, when it fits no other: "subscriptions.csv",
    "subscription_history" (a subscription's periods); None for a plain history, whose
    table the columns decide."""
    if is_history_name(file_name):
        stem = without_history_words(file_name)
        return "subscriptions" if file_bonus("subscriptions", stem, None) else None
    return next((t for t in TABLES if file_bonus(t, file_name, preset)), None)


def _history_tables(viable: Candidates, file_name: str) -> Candidates:
    """A history holds stage changes or subscription periods; a history of deals, leads or
    accounts is earlier versions of those rows, which would count each one several times."""
    kept = {t: v for t, v in viable.items() if t in HISTORY_TABLES}
    if kept:
        return kept
    of_what = next((t for t in TABLES if file_bonus(t, without_history_words(file_name), None)),
                   "deals" if "deals" in viable else None)  # fmt: skip
    what = of_what or "records"
    raise UnknownTableError(
        f"a history of {what} (earlier versions of each row), not the {what} themselves "
        "and not stage changes",
        path=file_name,
        hint="the current export holds the rows; if it holds stage changes, "
        + settle_hint(file_name, "stage_history")
        + " and map deal_id, stage and entered_at",
    )


# Two tables whose scores differ by less than this fit "about equally": one header matched
# once more than the other weighs 1.
AMBIGUITY_MARGIN = 1.0


# A billing export's recurring amount per billing period (Recurly, Stripe, Paddle): MRR only
# when the period is a month, which the file does not say.
_BILLED_AMOUNTS = ("subtotal", "unit amount", "plan amount", "amount", "price", "recurring amount")


def _billing_amount(norm_headers: dict[str, str]) -> str | None:
    return next((norm_headers[a] for a in _BILLED_AMOUNTS if a in norm_headers), None)


def no_table_error(
    headers: list[str],
    file_name: str,
    candidates: Candidates,
    source: SourceConfig | None,
) -> InputError:
    """The closest table, what it misses, and the header nearest to each missing column."""
    shown = ", ".join(repr(h) for h in headers[:20]) + (" ..." if len(headers) > 20 else "")

    def matched(t: str) -> int:
        return sum(not m.canonical.startswith("_") for m in candidates[t][1])

    def closeness(t: str) -> tuple[int, int]:
        present = {m.canonical for m in candidates[t][1]}
        return matched(t), -len(TABLES[t].missing_required(present))

    best = max(candidates, key=closeness)
    if matched(best) < 2 and not (source and source.table):
        needs = "; ".join(
            f"{t} (needs {', '.join(' or '.join(alts) for alts in spec.required)})"
            for t, spec in TABLES.items()
        )
        return UnknownTableError(
            f"not a table of a known kind; headers found: {shown}",
            path=file_name,
            hint=f"expected one of: {needs}; or map its columns in crmkpi.toml "
            "[sources.NAME] with table = ... and [sources.NAME.columns]",
        )
    missing = TABLES[best].missing_required({m.canonical for m in candidates[best][1]})
    hints = []
    aliases = {a: col for lang in languages().values()
               for col, names in lang.columns.get(best, {}).items() for a in names}  # fmt: skip
    norm_headers = {normalise_header(h): h for h in headers}
    for alts in missing:
        wanted = [a for a, col in aliases.items() if col in alts]
        near = difflib.get_close_matches(" ".join(alts), list(norm_headers), n=1, cutoff=0.6) or [
            n for w in wanted for n in difflib.get_close_matches(w, list(norm_headers), 1, 0.75)
        ]
        need = " or ".join(alts)
        billed = _billing_amount(norm_headers) if alts == ("mrr",) else None
        if billed:
            need += (
                f" ({billed!r} is an amount per billing period: map mrr to it if it bills monthly)"
            )
        hints.append(f"{need} (closest header: {norm_headers[near[0]]!r})" if near else need)
    if source and source.table:
        return UnknownTableError(
            f"read as {source.table} (sources.{source.name}.table), it needs "
            f"{'; '.join(hints)}; headers found: {shown}",
            path=file_name,
            hint=f"map them in crmkpi.toml [sources.{source.name}.columns]",
        )
    return UnknownTableError(
        f"cannot tell which table this file holds: closest is {best}, which needs "
        f"{'; '.join(hints)}; headers found: {shown}",
        path=file_name,
        hint=f"expected one of: {', '.join(TABLES)}; map columns in crmkpi.toml "
        "[sources.NAME.columns]",
    )
