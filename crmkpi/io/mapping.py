"""Headers -> canonical columns: which table a file holds and which header is which column.

Matching runs in tiers, first match wins: the config's `columns` mapping, then the detected (or
configured) preset's header names, then every language's aliases, then every language's
abbreviations ("No.", "Ημ. δημ.": after every full alias, so a short form never takes a header
a full name claims), then the aliases with a parenthetical or an "Object - " prefix removed.
The table kind is the candidate whose required columns are all present with the best score (a
header only one table knows counts double; a file name such as "leads_2024.csv" and a preset's
table signature add to the score), once the evidence beyond headers has ruled out what the
file cannot be (crmkpi.io.table_choice).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from crmkpi.config import SourceConfig
from crmkpi.errors import InputError
from crmkpi.io.recognition import ColumnValues, file_bonus, refuse_by_name
from crmkpi.io.table_choice import (
    named_table,
    no_table_error,
    stage_property_rows,
    weigh_evidence,
)
from crmkpi.io.vocabulary import Preset, languages, normalise_header, presets
from crmkpi.schema import HELPER_PREFIX, TABLES


@dataclass(frozen=True)
class ColumnMatch:
    canonical: str
    header: str
    rule: str  # config, preset:<name>, alias:<lang>, abbr:<lang>, alias~:<lang> (loose)


@dataclass(frozen=True)
class Mapping:
    table: str
    preset: str | None
    matches: tuple[ColumnMatch, ...]
    unmapped: tuple[str, ...]
    wide_history: tuple[tuple[str, str], ...] = ()  # (header, stage label)
    scores: dict[str, float] = field(default_factory=dict)
    # (header, its values kept): a property history read for its deal-stage rows only
    row_filter: tuple[str, tuple[str, ...]] | None = None

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
    short = [
        (f"abbr:{lang.code}", lang.abbreviations.get(table, {})) for lang in languages().values()
    ]
    columns = [*spec.names] + sorted(
        {c for _, cols in tiers for c in cols if c.startswith(HELPER_PREFIX)}
    )
    passes = [(False, tiers), (False, short), (True, tiers)]
    for loose_pass, pass_tiers in passes:
        for rule, cols in pass_tiers:
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
    values: ColumnValues | None = None,
) -> Mapping:
    """Decide the table and the header of each canonical column, or raise InputError.

    `values` reads a column's values where the headers leave a doubt: an id that repeats beside
    a stage is a history, not deals; a property history keeps its deal-stage rows.
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
        refuse_by_name(file_name, preset)
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
        score += file_bonus(table, file_name, preset)
        if preset is not None:
            norm = {normalise_header(h) for h in headers}
            score += 3.0 * len(norm & preset.table_signatures.get(table, frozenset()))
        if table == "deals" and wide:
            score += 2.0
        candidates[table] = (score, matches)
    viable = {t: v for t, v in candidates.items() if v[0] >= 0}
    if not viable:
        named = None if pinned else named_table(file_name, preset)
        closest = {named: candidates[named]} if named else candidates
        raise no_table_error(headers, file_name, closest, source)
    if not pinned:
        viable = weigh_evidence(viable, candidates, headers, file_name, values, preset)
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
        row_filter=stage_property_rows(table, matches, headers, file_name, values),
    )
