"""Activity success read from outcome phrases, not only from exact words."""

from __future__ import annotations

from pathlib import Path

import crmkpi


def test_outcome_phrases_decide_success(tmp_path: Path) -> None:
    (tmp_path / "activities.csv").write_text(
        "Activity ID,Type,Owner,Due date,Outcome\n"
        "1,meeting,Ana,2025-03-01,Meeting held\n"
        "2,email,Ana,2025-03-02,No reply\n"
        "3,call,Bo,2025-03-03,Not connected\n"
        "4,call,Bo,2025-03-04,Connected\n"
        "5,email,Bo,2025-03-05,Replied\n"
        "6,call,Bo,2025-03-06,Call not answered\n"
        "7,task,Bo,2025-03-07,Waiting\n",
        encoding="utf-8",
    )
    ds = crmkpi.load(tmp_path, cache=False)
    success = dict(ds.frames["activities"].select("id", "success").iter_rows())
    # "held" and "replied"/"connected" are successes; "no reply", "not connected" and
    # "not answered" are failures even though they contain a success word; "Waiting" is unknown.
    assert success == {
        "1": True, "2": False, "3": False, "4": True, "5": True, "6": False, "7": None,
    }  # fmt: skip
