"""What changed between two (or more) exports of the same CRM taken on different days.

Deals are matched by id. The first and last snapshots give what was created, won, lost,
moved, re-priced and re-assigned in between; every consecutive pair is checked for close dates
pushed out, so with a series of exports a deal that slipped three times says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from crmkpi.dataset import Dataset, StageModel
from crmkpi.errors import InputError
from crmkpi.schema import STATUS_LOST, STATUS_OPEN, STATUS_WON

DAY_US = 86_400_000_000
KEY = "id"
SHOWN = ("name", "owner", "stage", "status", "amount", "currency")

# The tables of a diff in the order every format shows them: (id, title).
TABLES = (
    ("created", "Deals created"),
    ("won", "Deals won"),
    ("lost", "Deals lost"),
    ("stage_moves", "Stage moves"),
    ("slipped", "Close dates pushed out"),
    ("amount_changes", "Amount changes"),
    ("owner_changes", "Owner changes"),
    ("removed", "Deals no longer in the export"),
)


@dataclass
class DealDiff:
    """The comparison: one frame per kind of change, a summary, and notes on what was missing."""

    snapshots: list[str]
    tables: dict[str, pl.DataFrame]
    summary: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def changes(self) -> pl.DataFrame:
        """Every change as one long frame (kind, deal, before, after), for CSV and scripts."""
        parts = []
        for kind, _ in TABLES:
            frame = self.tables[kind]
            if frame.height == 0:
                continue
            before, after, delta = _BEFORE_AFTER[kind]
            parts.append(
                frame.select(
                    pl.lit(kind).alias("kind"),
                    pl.col(KEY).alias("deal_id"),
                    _text("name", frame),
                    _text("owner", frame),
                    _text(before, frame).alias("before"),
                    _text(after, frame).alias("after"),
                    _number(delta, frame).alias("change"),
                )
            )
        if not parts:
            return pl.DataFrame(schema=_CHANGES_SCHEMA)
        return pl.concat(parts, how="vertical")


_CHANGES_SCHEMA = {
    "kind": pl.String,
    "deal_id": pl.String,
    "name": pl.String,
    "owner": pl.String,
    "before": pl.String,
    "after": pl.String,
    "change": pl.Float64,
}
# Per kind: the "before" column, the "after" column, and the numeric change column.
_BEFORE_AFTER: dict[str, tuple[str | None, str | None, str | None]] = {
    "created": (None, "stage", "amount"),
    "won": ("from_stage", "stage", "amount"),
    "lost": ("from_stage", "stage", "amount"),
    "stage_moves": ("from_stage", "stage", "steps"),
    "slipped": ("old_close", "new_close", "days_pushed"),
    "amount_changes": ("old_amount", "amount", "change"),
    "owner_changes": ("old_owner", "owner", None),
    "removed": ("stage", None, "amount"),
}


def _text(column: str | None, frame: pl.DataFrame) -> pl.Expr:
    if column is None or column not in frame.columns:
        return pl.lit(None, pl.String).alias(column or "none")
    dtype = frame.schema[column]
    if isinstance(dtype, pl.Datetime):
        return pl.col(column).dt.strftime("%Y-%m-%d")
    return pl.col(column).cast(pl.String)


def _number(column: str | None, frame: pl.DataFrame) -> pl.Expr:
    if column is None or column not in frame.columns:
        return pl.lit(None, pl.Float64)
    return pl.col(column).cast(pl.Float64)


def _deals(ds: Dataset, label: str) -> pl.DataFrame:
    frame = ds.frames.get("deals")
    if frame is None:
        raise InputError("no deals table to compare", path=label)
    if KEY not in frame.columns:
        raise InputError(
            "deals have no id column, so the two exports cannot be matched",
            path=label,
            hint="map the deal id column in [sources.deals.columns]",
        )
    return frame.filter(pl.col(KEY).is_not_null())


def _stage_model(snapshots: Sequence[Dataset]) -> StageModel:
    """The newest snapshot's stage order, else any earlier one that has one."""
    for ds in reversed(snapshots):
        if ds.stages.order:
            return ds.stages
    return snapshots[-1].stages


def compare(snapshots: Sequence[Dataset], labels: Sequence[str]) -> DealDiff:
    """Compare the deals of the first and last snapshot; count slips over every step."""
    if len(snapshots) < 2:
        raise ValueError("compare needs at least two snapshots")
    notes: list[str] = []
    frames = []
    for ds, label in zip(snapshots, labels, strict=True):
        deals = _deals(ds, label)
        dupes = deals.height - deals[KEY].n_unique()
        if dupes:
            notes.append(f"{label}: {dupes} duplicate deal ids; the last row of each is used")
            deals = deals.unique(KEY, keep="last", maintain_order=True)
        frames.append(deals)
    old, new = frames[0], frames[-1]
    stages = _stage_model(snapshots)
    cols = [c for c in SHOWN if c in new.columns]
    joined = new.join(old, on=KEY, how="inner", suffix="_old")
    if joined.height == 0 and old.height and new.height:
        notes.append(
            f"no deal id is in both {labels[0]} and {labels[-1]}: every deal shows as created "
            "and removed (exports of different CRMs, or ids exported differently?)"
        )

    created = new.join(old, on=KEY, how="anti").select(KEY, *cols, *_opt(new, "created_at"))
    removed = old.join(new, on=KEY, how="anti").select(KEY, *[c for c in SHOWN if c in old.columns])
    tables = {"created": created, "removed": removed}
    tables["won"] = _closed(new, old, STATUS_WON, cols)
    tables["lost"] = _closed(new, old, STATUS_LOST, cols)
    tables["stage_moves"] = _stage_moves(joined, stages, cols)
    amounts = _changed(joined, "amount", cols, notes)
    if "old_amount" in amounts.columns:
        amounts = amounts.with_columns(
            (pl.col("amount") - pl.col("old_amount")).alias("change"), _amount_edit()
        )
    tables["amount_changes"] = amounts
    tables["owner_changes"] = _changed(joined, "owner", cols, notes)
    tables["slipped"] = _slipped(frames, labels, cols, notes)
    summary = _summary(tables, old, new, stages)
    codes = _currencies(old, new)
    if len(codes) > 1:
        # Adding EUR to USD means nothing: money totals are left out, the deal rows keep theirs.
        for key in _MONEY_TOTALS:
            summary[key] = None
        notes.append(f"amounts in {', '.join(codes)}: money totals left out of the summary")
    summary["currency"] = codes[0] if len(codes) == 1 else None
    return DealDiff(list(labels), tables, summary, notes)


def _amount_edit() -> pl.Expr:
    """An amount filled in or emptied is not a change of 0: it is told apart from one that
    moved from one value to another (whose difference is the change)."""
    return (
        pl.when(pl.col("old_amount").is_null())
        .then(pl.lit("set"))
        .when(pl.col("amount").is_null())
        .then(pl.lit("cleared"))
        .otherwise(pl.lit("changed"))
        .alias("edit")
    )


_MONEY_TOTALS = (
    "created_amount", "won_amount", "lost_amount", "amount_change_net",
    "amounts_set_total", "amounts_cleared_total",
    "open_pipeline_before", "open_pipeline_after",
)  # fmt: skip


def _currencies(*frames: pl.DataFrame) -> list[str]:
    codes: set[str] = set()
    for frame in frames:
        if "currency" in frame.columns:
            codes.update(str(c) for c in frame["currency"].drop_nulls().unique().to_list())
    return sorted(codes)


def _opt(frame: pl.DataFrame, *columns: str) -> list[str]:
    return [c for c in columns if c in frame.columns]


def _closed(new: pl.DataFrame, old: pl.DataFrame, status: str, cols: list[str]) -> pl.DataFrame:
    """Deals with `status` now that did not have it before (including ones created since)."""
    if "status" not in new.columns:
        return pl.DataFrame(schema={KEY: pl.String})
    before = old.select(
        KEY,
        (pl.col("stage") if "stage" in old.columns else pl.lit(None, pl.String)).alias(
            "from_stage"
        ),
        (pl.col("status") if "status" in old.columns else pl.lit(None, pl.String)).alias(
            "old_status"
        ),
    )
    frame = new.filter(pl.col("status") == status).join(before, on=KEY, how="left")
    frame = frame.filter(pl.col("old_status").is_null() | (pl.col("old_status") != status))
    extra = _opt(new, "closed_at", *(("lost_reason",) if status == STATUS_LOST else ()))
    return frame.select(KEY, *cols, "from_stage", *extra)


def _stage_moves(joined: pl.DataFrame, stages: StageModel, cols: list[str]) -> pl.DataFrame:
    """Open deals whose stage changed, forward or back by the stage order; reopened deals."""
    if "stage" not in joined.columns or "stage_old" not in joined.columns:
        return pl.DataFrame(schema={KEY: pl.String})
    rank = stages.rank()
    status_now = pl.col("status") if "status" in joined.columns else pl.lit(STATUS_OPEN)
    status_before = pl.col("status_old") if "status_old" in joined.columns else pl.lit(STATUS_OPEN)
    moved = joined.filter(
        pl.col("stage").ne_missing(pl.col("stage_old")) & (status_now == STATUS_OPEN)
    )
    steps = pl.col("stage").replace_strict(rank, default=None, return_dtype=pl.Int64) - pl.col(
        "stage_old"
    ).replace_strict(rank, default=None, return_dtype=pl.Int64)
    direction = (
        pl.when(status_before != STATUS_OPEN)
        .then(pl.lit("reopened"))
        .when(steps > 0)
        .then(pl.lit("forward"))
        .when(steps < 0)
        .then(pl.lit("back"))
        .otherwise(pl.lit("unordered"))
    )
    return moved.select(
        KEY,
        *cols,
        pl.col("stage_old").alias("from_stage"),
        direction.alias("direction"),
        steps.alias("steps"),
    )


def _changed(joined: pl.DataFrame, column: str, cols: list[str], notes: list[str]) -> pl.DataFrame:
    old = f"{column}_old"
    if column not in joined.columns or old not in joined.columns:
        notes.append(f"no {column} column in both exports: {column} changes not compared")
        return pl.DataFrame(schema={KEY: pl.String})
    differs = pl.col(column).ne_missing(pl.col(old))
    if column == "amount":  # float noise from a re-export is not a change
        differs = differs & ((pl.col(column) - pl.col(old)).abs().fill_null(1.0) > 1e-6)
    return joined.filter(differs).select(KEY, *cols, pl.col(old).alias(f"old_{column}"))


def _slipped(
    frames: list[pl.DataFrame], labels: Sequence[str], cols: list[str], notes: list[str]
) -> pl.DataFrame:
    """Deals whose expected close date moved later, over each consecutive pair of exports."""
    column = "expected_close_at"
    empty = pl.DataFrame(schema={KEY: pl.String, "days_pushed": pl.Float64})
    if not all(column in f.columns for f in frames):
        missing = [lab for f, lab in zip(frames, labels, strict=True) if column not in f.columns]
        notes.append(f"no expected close date in {', '.join(missing)}: slipped deals not found")
        return empty
    steps = []
    for before, after in zip(frames, frames[1:], strict=False):
        pair = after.select(KEY, pl.col(column).alias("to")).join(
            before.select(KEY, pl.col(column).alias("from")), on=KEY, how="inner"
        )
        pushed = (pl.col("to") - pl.col("from")).dt.total_microseconds() / DAY_US
        steps.append(pair.filter(pushed > 0).with_columns(pushed.alias("days")))
    slips = pl.concat(steps, how="vertical")
    if slips.height == 0:
        return empty
    # old_close: before the first slip; new_close: the date now (a slip may be partly undone).
    per_deal = slips.group_by(KEY, maintain_order=True).agg(
        pl.col("from").first().alias("old_close"),
        pl.col("to").last().alias("last_slip_to"),
        pl.col("days").sum().alias("days_pushed"),
        pl.len().cast(pl.Int64).alias("times_slipped"),
    )
    current = frames[-1].select(KEY, *cols, pl.col(column).alias("close_now"))
    return (
        per_deal.join(current, on=KEY, how="left")
        .with_columns(pl.coalesce("close_now", "last_slip_to").alias("new_close"))
        .select(KEY, *cols, "old_close", "new_close", "days_pushed", "times_slipped")
        .sort(["days_pushed", KEY], descending=[True, False])
    )


def _sum(frame: pl.DataFrame, column: str) -> float | None:
    if column not in frame.columns or frame.height == 0:
        return 0.0 if frame.height == 0 else None
    value = frame[column].cast(pl.Float64).sum()
    return float(value) if value is not None else None


def _open_value(frame: pl.DataFrame) -> float | None:
    if "status" not in frame.columns or "amount" not in frame.columns:
        return None
    return float(frame.filter(pl.col("status") == STATUS_OPEN)["amount"].sum())


def _summary(
    tables: dict[str, pl.DataFrame], old: pl.DataFrame, new: pl.DataFrame, stages: StageModel
) -> dict[str, Any]:
    moves = tables["stage_moves"]
    slipped = tables["slipped"]
    direction = moves["direction"] if "direction" in moves.columns else pl.Series([], dtype=str)
    return {
        "deals_before": old.height,
        "deals_after": new.height,
        "created": tables["created"].height,
        "created_amount": _sum(tables["created"], "amount"),
        "won": tables["won"].height,
        "won_amount": _sum(tables["won"], "amount"),
        "lost": tables["lost"].height,
        "lost_amount": _sum(tables["lost"], "amount"),
        "moved_forward": int((direction == "forward").sum()),
        "moved_back": int((direction == "back").sum()),
        "reopened": int((direction == "reopened").sum()),
        "moved_unordered": int((direction == "unordered").sum()),
        "slipped": slipped.height,
        "slipped_days_total": _sum(slipped, "days_pushed"),
        "slipped_days_median": (
            float(slipped["days_pushed"].median()) if slipped.height else None  # type: ignore[arg-type]
        ),
        **_amount_summary(tables["amount_changes"]),
        "owner_changes": tables["owner_changes"].height,
        "removed": tables["removed"].height,
        "open_pipeline_before": _open_value(old),
        "open_pipeline_after": _open_value(new),
        "stage_order": list(stages.order),
    }


def _amount_summary(amounts: pl.DataFrame) -> dict[str, Any]:
    """Changed amounts with their net change; amounts set or cleared counted apart, with the
    total that appeared or went."""
    if "edit" not in amounts.columns:
        return {"amount_changes": 0, "amount_change_net": 0.0}
    edit = amounts["edit"]
    return {
        "amount_changes": int((edit == "changed").sum()),
        "amount_change_net": _sum(amounts.filter(edit == "changed"), "change"),
        "amounts_set": int((edit == "set").sum()),
        "amounts_set_total": _sum(amounts.filter(edit == "set"), "amount"),
        "amounts_cleared": int((edit == "cleared").sum()),
        "amounts_cleared_total": _sum(amounts.filter(edit == "cleared"), "old_amount"),
    }
