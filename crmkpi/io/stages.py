"""Deal status and the stage model: which stages win or lose, and in what order stages come.

Status comes, first match wins, from a status column (Pipedrive's open/won/lost in any
language), Salesforce-style IsClosed/IsWon flags, won/lost time columns, and finally the stage's
meaning (config won/lost, the preset's, or the won/lost words of every language). The stage
order comes from config [stages], else the preset, else the stage history (median position at
which deals entered each stage), else the common stage words of the alias files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from crmkpi.config import StagesConfig
from crmkpi.dataset import StageModel
from crmkpi.io.columns import word_lookup
from crmkpi.io.vocabulary import Preset, normalise_word, words
from crmkpi.schema import STATUS_LOST, STATUS_OPEN, STATUS_WON


@dataclass(frozen=True)
class StageMeaning:
    """Normalised stage names known to win or lose (from config, preset and all languages)."""

    won: frozenset[str]
    lost: frozenset[str]

    @classmethod
    def build(cls, stages: StagesConfig | None, preset: Preset | None) -> StageMeaning:
        w = words()
        won = set(w.won)
        lost = set(w.lost)
        if preset:
            won |= {normalise_word(s) for s in preset.stage_won}
            lost |= {normalise_word(s) for s in preset.stage_lost}
        if stages:
            won |= {normalise_word(s) for s in stages.won}
            lost |= {normalise_word(s) for s in stages.lost}
            won -= {normalise_word(s) for s in stages.lost}
            lost -= {normalise_word(s) for s in stages.won}
        return cls(frozenset(won), frozenset(lost))

    def status_of_stage(self, stage: str) -> str:
        """won/lost/open; 'Closed Won (Sales Pipeline)' reads as 'Closed Won'."""
        key = normalise_word(stage)
        bare = normalise_word(re.sub(r"\s*[(\[].*?[)\]]\s*", " ", stage))
        for candidate in (key, bare):
            if candidate in self.won:
                return STATUS_WON
            if candidate in self.lost:
                return STATUS_LOST
        return STATUS_OPEN


def stage_status_expr(stage: pl.Expr, distinct: list[str], meaning: StageMeaning) -> pl.Expr:
    lookup = {v: meaning.status_of_stage(v) for v in distinct}
    return stage.replace_strict(lookup, default=STATUS_OPEN, return_dtype=pl.String)


def status_word_expr(status: pl.Expr, distinct: list[str], preset: Preset | None) -> pl.Expr:
    """A status column's words -> open/won/lost; unknown words -> null."""
    w = words()
    table: dict[str, object] = {}
    for kind, vocab in ((STATUS_OPEN, w.status_open), (STATUS_LOST, w.status_lost | w.lost),
                        (STATUS_WON, w.status_won | w.won)):  # fmt: skip
        table.update({k: kind for k in vocab})
    if preset:
        for kind, vocab in preset.status_values.items():
            table.update({k: kind for k in vocab})
    return status.replace_strict(word_lookup(distinct, table), default=None, return_dtype=pl.String)


def flags_status_expr(won: pl.Expr | None, closed: pl.Expr | None) -> pl.Expr | None:
    """IsClosed/IsWon -> status (IsWon alone only proves won)."""
    if won is not None and closed is not None:
        return (
            pl.when(closed.not_())
            .then(pl.lit(STATUS_OPEN))
            .when(won)
            .then(pl.lit(STATUS_WON))
            .when(closed)
            .then(pl.lit(STATUS_LOST))
        )
    if won is not None:
        return pl.when(won).then(pl.lit(STATUS_WON))
    return None


def times_status_expr(won_at: pl.Expr | None, lost_at: pl.Expr | None) -> pl.Expr | None:
    parts = []
    if won_at is not None:
        parts.append((won_at.is_not_null(), STATUS_WON))
    if lost_at is not None:
        parts.append((lost_at.is_not_null(), STATUS_LOST))
    if not parts:
        return None
    expr = pl.when(parts[0][0]).then(pl.lit(parts[0][1]))
    for cond, value in parts[1:]:
        expr = expr.when(cond).then(pl.lit(value))
    return expr


def history_order(history: pl.DataFrame) -> tuple[str, ...]:
    """Stages ordered by the median position at which deals entered them."""
    if history.is_empty() or not {"deal_id", "stage", "entered_at"} <= set(history.columns):
        return ()
    ranked = (
        history.drop_nulls(["deal_id", "stage", "entered_at"])
        .sort("entered_at")
        .with_columns(pos=pl.int_range(pl.len()).over("deal_id"))
        .group_by("stage")
        .agg(pl.col("pos").median().alias("median"), pl.col("entered_at").min().alias("first"))
        .sort(["median", "first"])
    )
    return tuple(ranked["stage"].to_list())


def inferred_order(stages: Iterable[str], meaning: StageMeaning) -> tuple[str, ...]:
    """Known open-stage words in their usual order, unknown ones after, closing stages last."""
    known = {w: i for i, w in enumerate(words().open_order)}
    distinct = list(dict.fromkeys(s for s in stages if s))
    opened = [s for s in distinct if meaning.status_of_stage(s) == STATUS_OPEN]
    big = len(known) + 1
    opened.sort(key=lambda s: known.get(normalise_word(s), big))
    won = [s for s in distinct if meaning.status_of_stage(s) == STATUS_WON]
    lost = [s for s in distinct if meaning.status_of_stage(s) == STATUS_LOST]
    return tuple(opened + won + lost)


def build_stage_model(
    stages_config: StagesConfig | None,
    preset: Preset | None,
    deal_stages: list[str],
    history: pl.DataFrame | None,
) -> StageModel:
    """The stage model, from the most authoritative source that has an order."""
    meaning = StageMeaning.build(stages_config, preset)
    seen = list(dict.fromkeys(deal_stages))
    if history is not None and "stage" in history.columns:
        seen += [
            s
            for s in history["stage"].drop_nulls().unique(maintain_order=True).to_list()
            if s not in seen
        ]
    if stages_config and stages_config.order:
        order, origin = tuple(stages_config.order), "config"
    elif preset and preset.stage_order:
        order, origin = tuple(preset.stage_order), "preset"
    elif history is not None and (h := history_order(history)):
        closing = [s for s in h if meaning.status_of_stage(s) != STATUS_OPEN]
        order, origin = tuple(s for s in h if s not in closing) + tuple(closing), "history"
    elif seen:
        order, origin = inferred_order(seen, meaning), "inferred"
    else:
        return StageModel()
    extra = [s for s in seen if s not in order]
    if extra and origin != "config":  # stages the source did not list: open ones before closing
        more = inferred_order(extra, meaning)
        opened = [s for s in order + more if meaning.status_of_stage(s) == STATUS_OPEN]
        order = tuple(opened + [s for s in order + more if s not in opened])
    all_names = set(order) | set(seen)
    won = frozenset(s for s in all_names if meaning.status_of_stage(s) == STATUS_WON)
    lost = frozenset(s for s in all_names if meaning.status_of_stage(s) == STATUS_LOST)
    return StageModel(order=order, won=won, lost=lost, origin=origin)
