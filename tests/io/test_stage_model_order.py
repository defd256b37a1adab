"""The stage model lists stages the preset does not know in the order the data first shows them,
so the same export gives the same funnel rows on every run."""

from __future__ import annotations

import random
import string
from datetime import datetime

import polars as pl

from crmkpi.io.stages import build_stage_model
from crmkpi.io.vocabulary import presets


def _pipeline_ids(count: int, seed: int) -> list[str]:
    """Opaque stage ids like the ones a CRM gives stages of a custom pipeline."""
    rng = random.Random(seed)
    return ["".join(rng.choices(string.ascii_letters + string.digits, k=12)) for _ in range(count)]


def test_unknown_history_stages_follow_their_first_appearance() -> None:
    preset = presets()["hubspot"]
    unknown = _pipeline_ids(40, seed=3)
    rng = random.Random(7)
    # every unknown id once in a shuffled order, then repeats that must not move them
    first_seen = rng.sample(unknown, k=len(unknown))
    stages = first_seen + rng.choices(unknown, k=200) + ["Appointment Scheduled"]
    history = pl.DataFrame(
        {
            "deal_id": [str(i) for i in range(len(stages))],
            "stage": stages,
            "entered_at": [datetime(2024, 1, 1)] * len(stages),
        }
    )
    model = build_stage_model(None, preset, ["Appointment Scheduled", "closedwon"], history)
    # The preset's own stages keep their place; the unknown ones (open, as nothing says they
    # close a deal) come after the preset's open stages, in the order the history shows them.
    listed = [s for s in model.order if s in set(unknown)]
    assert listed == first_seen
    assert model.order[0] == preset.stage_order[0] == "Appointment Scheduled"


def test_same_model_on_every_build() -> None:
    preset = presets()["hubspot"]
    unknown = _pipeline_ids(60, seed=11)
    history = pl.DataFrame({"deal_id": ["1"] * len(unknown), "stage": unknown})
    orders = {build_stage_model(None, preset, [], history).order for _ in range(5)}
    assert len(orders) == 1
