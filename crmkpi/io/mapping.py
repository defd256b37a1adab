"""Headers -> canonical columns: which table a file holds and which header is which column.

Matching runs in tiers, first match wins: the config's `columns` mapping, then the detected (or
configured) preset's header names, then every language's aliases, then the same with a
parenthetical or an "Object - " prefix removed. The table kind is the candidate whose required
columns are all present with the best score (a header only one table knows counts double; a
file name such as "leads_2024.csv" and a preset's table signature add to the score).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from crmkpi.config import SourceConfig
from crmkpi.errors import InputError, UnknownTableError
from crmkpi.io.recognition import (
    ValueRepeats,
    child_record,
    dates_versions,
    deal_reference,
    is_history_name,
    lists_products,
    without_history_words,
)
from crmkpi.io.vocabulary import Preset, languages, normalise_header, presets
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

# Tables a history file can hold: stage changes, or a subscription's successive periods. A
# history of deals, leads or accounts is not those records.
HISTORY_TABLES = ("stage_history", "subscriptions")

HELPER_PREFIX = "_"


class AmbiguousTableError(UnknownTableError):
    """Two tables fit a file about equally well: it is not read until a config names one."""

    def __init__(self, message: str, *, tables: tuple[str, str], **place: str | None) -> None:
        super().__init__(message, **place)  # type: ignore[arg-type]
        self.tables = tables


@dataclass(frozen=True)
class ColumnMatch:
    canonical: str
    header: str
    rule: str  # config, preset:<name>, alias:<lang>, alias~:<lang> (loose)


@dataclass(frozen=True)
class Mapping:
    table: str
    preset: str | None
    matches: tuple[ColumnMatch, ...]
    unmapped: tuple[str, ...]
    wide_history: tuple[tuple[str, str], ...] = ()  # (header, stage label)
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def columns(self) -> dict[str, str]:
        return {m.canonical: m.header for m in self.matches}

    @property
    def canonical(self) -> dict[str, str]:
        """canonical -> header for real canonical columns (helpers left out)."""
        return {m.canonical: m.header for m in self.matches if not m.canonical.startswith("_")}


# "Deal - Title": object prefixes a header may carry, and the tables whose columns they may
# prefix ("Deal - ID" is a deal's id, never a lead's). None: any table.
_OBJECT_PREFIXES: dict[str, frozenset[str] | None] = {
    **dict.fromkeys(("deal", "opportunity", "сделка"),
                    frozenset({"deals", "stage_history", "activities"})),
    **dict.fromkeys(("lead", "лид", "потенциальный"), frozenset({"leads", "activities"})),
    "activity": frozenset({"activities"}),
    "subscription": frozenset({"subscriptions"}),  # Chargebee's "subscription.mrr"
    **dict.fromkeys(("person", "organization", "contact"), None),
}  # fmt: skip


def _loose_forms(norm: str, table: str) -> list[str]:
    forms = []
    no_paren = re.sub(r"\s*[(\[].*?[)\]]\s*", " ", norm).strip()
    if no_paren and no_paren != norm:
        forms.append(no_paren)
    if " " in norm:  # "deal   title" from "Deal - Title": try without the object prefix
        head, _, rest = norm.partition(" ")
        if head in _OBJECT_PREFIXES and table in (_OBJECT_PREFIXES[head] or {table}):
            forms.append(rest)
    return forms


def _alias_tables() -> dict[str, set[str]]:
    """Normalised alias -> tables that list it (to weigh headers only one table knows)."""
    owners: dict[str, set[str]] = {}
    for lang in languages().values():
        for table, cols in lang.columns.items():
            for col, names in cols.items():
                if col.startswith(HELPER_PREFIX):
                    continue
                for n in names:
                    owners.setdefault(n, set()).add(table)
    return owners


def detect_preset(headers: list[str]) -> Preset | None:
    """The preset whose signature headers the file shows most (at least its minimum)."""
    norm = {normalise_header(h, split_camel=False) for h in headers}
    best: tuple[int, str] | None = None
    for preset in presets().values():
        score = len(norm & preset.detect_headers)
        if score >= preset.detect_min and (best is None or score > best[0]):
            best = (score, preset.name)
    return presets()[best[1]] if best else None


def _match_table(
    table: str,
    headers: list[str],
    preset: Preset | None,
    configured: dict[str, str],
) -> list[ColumnMatch]:
    spec = TABLES[table]
    norm = [normalise_header(h) for h in headers]
    loose = [_loose_forms(n, table) for n in norm]
    used: set[int] = set()
    found: dict[str, ColumnMatch] = {}

    def assign(col: str, idx: int, rule: str) -> None:
        used.add(idx)
        found[col] = ColumnMatch(col, headers[idx], rule)

    for col, header in configured.items():
        target = normalise_header(header)
        idx = next((i for i, n in enumerate(norm) if n == target), None)
        if idx is not None:
            assign(col, idx, "config")
    tiers: list[tuple[str, dict[str, tuple[str, ...]]]] = []
    if preset is not None:
        tiers.append((f"preset:{preset.name}", preset.columns.get(table, {})))
    for lang in languages().values():
        tiers.append((f"alias:{lang.code}", lang.columns.get(table, {})))
    columns = [*spec.names] + sorted(
        {c for _, cols in tiers for c in cols if c.startswith(HELPER_PREFIX)}
    )
    for loose_pass in (False, True):
        for rule, cols in tiers:
            for col in columns:
                if col in found or col not in cols:
                    continue
                for alias in cols[col]:
                    idx = next(
                        (
                            i
                            for i in range(len(norm))
                            if i not in used
                            and ((alias in loose[i]) if loose_pass else norm[i] == alias)
                        ),
                        None,
                    )
                    if idx is not None:
                        assign(col, idx, rule.replace("alias:", "alias~:") if loose_pass else rule)
                        break
    return [found[c] for c in columns if c in found]


def _file_bonus(table: str, file_name: str, preset: Preset | None) -> float:
    """4 when the file name holds this table's most specific word ("opportunityhistory" beats
    "opportunit"), else 0."""
    name = file_name.casefold()

    def longest(t: str) -> int:
        words = FILE_WORDS.get(t, ()) + (preset.table_hints.get(t, ()) if preset else ())
        return max((len(w) for w in words if w.casefold() in name), default=0)

    mine = longest(table)
    return 4.0 if mine and mine >= max(longest(t) for t in TABLES) else 0.0


def _other_record(file_name: str, preset: Preset | None) -> str | None:
    """The non-canonical record kind a file's name announces ("account"), unless the name also
    names a canonical table ("OpportunityContactRole" is about deals). In a history's name the
    history words do not count: "account_history" is about accounts."""
    stem = re.sub(r"[^a-z]", "", Path(file_name).stem.casefold())
    if is_history_name(file_name):
        stem = without_history_words(file_name)
    if any(_file_bonus(t, stem, preset) for t in TABLES):
        return None
    return next((w for w in OTHER_RECORD_WORDS if w in stem), None)


def wide_history_columns(headers: list[str]) -> list[tuple[str, str]]:
    """Headers like `Date entered "Closed Won (Sales Pipeline)"`: (header, stage label)."""
    out = []
    patterns = [p for preset in presets().values() for p in preset.wide_history]
    for header in headers:
        for pattern in patterns:
            m = re.match(pattern, header.strip(), flags=re.IGNORECASE)
            if m:
                out.append((header, m.group("stage").strip()))
                break
    return out


def map_headers(
    headers: list[str],
    file_name: str,
    source: SourceConfig | None = None,
    value_repeats: ValueRepeats | None = None,
) -> Mapping:
    """Decide the table and the header of each canonical column, or raise InputError.

    `value_repeats(header)` tells whether a column holds some value twice: an id that repeats
    beside a stage is a history, not deals.
    """
    preset_name = source.preset if source else None
    if preset_name:
        if preset_name not in presets():
            raise InputError(
                f"unknown preset {preset_name!r}",
                path=file_name,
                hint=f"known presets: {', '.join(sorted(presets()))}",
            )
        preset: Preset | None = presets()[preset_name]
    else:
        preset = detect_preset(headers)
    configured = dict(source.columns) if source else {}
    owners = _alias_tables()
    tables = [source.table] if source and source.table else list(TABLES)
    for t in tables:
        if t not in TABLES:
            raise InputError(
                f"unknown table {t!r}", path=file_name, hint=f"known: {', '.join(TABLES)}"
            )
    pinned = bool(source and source.table)
    if not pinned:
        _refuse_by_name(file_name, preset)
    candidates: dict[str, tuple[float, list[ColumnMatch]]] = {}
    wide = wide_history_columns(headers)
    for table in tables:
        matches = _match_table(table, headers, preset, configured)
        present = {m.canonical for m in matches}
        if TABLES[table].missing_required(present):
            candidates[table] = (-1.0, matches)
            continue
        score = 0.0
        for m in matches:
            if m.canonical.startswith(HELPER_PREFIX):
                score += 1.0
                continue
            tabs = owners.get(normalise_header(m.header), set())
            score += 2.0 if m.rule.startswith("preset") or tabs == {table} else 1.0
        score += _file_bonus(table, file_name, preset)
        if preset is not None:
            norm = {normalise_header(h) for h in headers}
            score += 3.0 * len(norm & preset.table_signatures.get(table, frozenset()))
        if table == "deals" and wide:
            score += 2.0
        candidates[table] = (score, matches)
    viable = {t: v for t, v in candidates.items() if v[0] >= 0}
    if not viable:
        named = None if pinned else _named_table(file_name, preset)
        closest = {named: candidates[named]} if named else candidates
        raise _no_table_error(headers, file_name, closest, source)
    if not pinned:
        viable = _weigh_evidence(viable, candidates, headers, file_name, value_repeats, preset)
    table = max(viable, key=lambda t: viable[t][0])
    matches = viable[table][1]
    used = {m.header for m in matches} | {h for h, _ in wide}
    unmapped = tuple(h for h in headers if h not in used)
    return Mapping(
        table=table,
        preset=preset.name if preset else None,
        matches=tuple(matches),
        unmapped=unmapped,
        wide_history=tuple(wide) if table == "deals" else (),
        scores={t: v[0] for t, v in candidates.items()},
    )


def settle_hint(file_name: str, table: str = "...") -> str:
    """The config lines that name a file's table."""
    key = re.sub(r"[^A-Za-z0-9_-]", "_", Path(file_name).stem) or "source"
    return (
        f'to read it, say so in crmkpi.toml: [sources.{key}] path = "{Path(file_name).name}" '
        f'table = "{table}"'
    )


def _refuse_by_name(file_name: str, preset: Preset | None) -> None:
    """A name announcing records no KPI reads (invoices, line items, a data dictionary,
    accounts) is not guessed into a table by a chance header match."""
    child = child_record(file_name)
    if child:
        raise UnknownTableError(f"holds {child}, which no KPI reads", path=file_name,
                                hint=settle_hint(file_name))  # fmt: skip
    other = _other_record(file_name, preset)
    if other:
        raise UnknownTableError(f"holds {other} records, which no KPI reads", path=file_name,
                                hint=settle_hint(file_name))  # fmt: skip


Candidates = dict[str, tuple[float, list[ColumnMatch]]]


def _weigh_evidence(
    viable: Candidates,
    candidates: Candidates,
    headers: list[str],
    file_name: str,
    value_repeats: ValueRepeats | None,
    preset: Preset | None,
) -> Candidates:
    """Drop the tables the file cannot be whatever its headers score (crmkpi.io.recognition),
    and refuse to pick between two that fit equally well."""
    named = _named_table(file_name, preset)
    if named is not None and named not in viable:
        # "subscriptions.csv" without an MRR column is not leads because it has an id and a date
        raise _no_table_error(headers, file_name, {named: candidates[named]}, None)
    deals = viable.get("deals")
    if deals is not None:
        used = {m.header for m in deals[1]}
        reference = deal_reference(headers, used)
        if reference is not None and lists_products(headers):
            raise UnknownTableError(
                f"holds line items (products of the deal in {reference!r}), which no KPI reads",
                path=file_name, hint=settle_hint(file_name))  # fmt: skip
        if reference is not None:
            viable = {t: v for t, v in viable.items() if t != "deals"}
            if not viable:
                raise UnknownTableError(
                    f"refers to deals by {reference!r}: its rows are about deals, not deals",
                    path=file_name, hint=settle_hint(file_name))  # fmt: skip
        elif (
            "stage_history" in viable
            and value_repeats is not None
            and abs(deals[0] - viable["stage_history"][0]) < AMBIGUITY_MARGIN
        ):  # the headers fit both equally: the values decide
            deal_id = next(m.header for m in viable["stage_history"][1] if m.canonical == "deal_id")
            # an id seen twice beside a stage and a date is a deal's changes; once, the deal
            not_it = "deals" if value_repeats(deal_id) else "stage_history"
            viable = {t: v for t, v in viable.items() if t != not_it}
    if is_history_name(file_name):
        viable = _history_tables(viable, candidates, headers, file_name)
    _refuse_snapshot(viable, headers, file_name, value_repeats)
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


def _refuse_snapshot(
    viable: Candidates, headers: list[str], file_name: str, value_repeats: ValueRepeats | None
) -> None:
    """Deals whose id repeats beside a version date (one row per deal per day or version) are
    a snapshot history: read as deals, each deal would count once per version."""
    best = max(viable, key=lambda t: viable[t][0])
    version = dates_versions(headers)
    if best != "deals" or version is None or value_repeats is None:
        return
    deal_id = next((m.header for m in viable["deals"][1] if m.canonical == "id"), None)
    if deal_id is not None and value_repeats(deal_id):
        raise UnknownTableError(
            f"a history of deals: {deal_id!r} repeats, one row per deal per {version!r}; "
            "read as deals, each deal would count once per version",
            path=file_name,
            hint="the current deals export holds the deals; keep only the latest version of "
            "each deal to read this file",
        )


def _named_table(file_name: str, preset: Preset | None) -> str | None:
    """The table a file's name announces, when it fits no other: "subscriptions.csv",
    "subscription_history" (a subscription's periods); None for a plain history, whose
    table the columns decide."""
    if is_history_name(file_name):
        stem = without_history_words(file_name)
        return "subscriptions" if _file_bonus("subscriptions", stem, None) else None
    return next((t for t in TABLES if _file_bonus(t, file_name, preset)), None)


def _history_tables(
    viable: Candidates, candidates: Candidates, headers: list[str], file_name: str
) -> Candidates:
    """A history holds stage changes or subscription periods; a history of deals, leads or
    accounts is earlier versions of those rows, which would count each one several times."""
    kept = {t: v for t, v in viable.items() if t in HISTORY_TABLES}
    if kept:
        return kept
    of_what = next((t for t in TABLES if _file_bonus(t, without_history_words(file_name), None)),
                   "deals" if "deals" in viable else None)  # fmt: skip
    what = of_what or "records"
    raise UnknownTableError(
        f"a history of {what} (earlier versions of each row), not the {what} themselves "
        "and not stage changes",
        path=file_name,
        hint="the current export holds the rows; to read its stage changes, "
        + settle_hint(file_name, "stage_history").removeprefix("to read it, say so in ")
        + " and map deal_id, stage and entered_at",
    )


# Two tables whose scores differ by less than this fit "about equally": one header matched
# once more than the other weighs 1.
AMBIGUITY_MARGIN = 1.0


def _no_table_error(
    headers: list[str],
    file_name: str,
    candidates: dict[str, tuple[float, list[ColumnMatch]]],
    source: SourceConfig | None,
) -> InputError:
    """The closest table, what it misses, and the header nearest to each missing column."""
    shown = ", ".join(repr(h) for h in headers[:20]) + (" ..." if len(headers) > 20 else "")

    def matched(t: str) -> int:
        return sum(not m.canonical.startswith(HELPER_PREFIX) for m in candidates[t][1])

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
