"""One grid -> one canonical frame: what the converted frame holds before tables are joined."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from crmkpi.io.load import read_file
from crmkpi.schema import LABEL

DEALS = (
    "Deal ID,Deal Owner,Deal Stage,Amount,Create Date\n"
    "D1,Ann,Closed Won,1000,2024-01-05\n"
    "D2,Bob,Proposal,250,2024-01-10\n"
    "D3,Ann,Proposal,400,2024-02-01\n"
)


def test_labels_are_categories_with_their_texts_and_ids_stay_text(tmp_path: Path) -> None:
    path = tmp_path / "deals.csv"
    path.write_text(DEALS, encoding="utf-8")
    [(_grid, conv)] = read_file(path, None, None)
    frame = conv.frame
    # owner, stage and the derived status are labels: dictionary-encoded, same texts
    assert frame.schema["owner"] == LABEL
    assert frame.schema["stage"] == LABEL
    assert frame.schema["status"] == LABEL
    assert frame["owner"].cast(pl.String).to_list() == ["Ann", "Bob", "Ann"]
    assert frame["stage"].cast(pl.String).to_list() == ["Closed Won", "Proposal", "Proposal"]
    # Closed Won is won; a Proposal is still open
    assert frame["status"].cast(pl.String).to_list() == ["won", "open", "open"]
    # an id is compared and joined as text, never as a category
    assert frame.schema["id"] == pl.String
