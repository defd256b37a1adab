"""The `ds` fixture: the hand-built deals and leads of api_deals.py."""

from __future__ import annotations

import pytest
from api_deals import deals_and_leads

from crmkpi.dataset import Dataset


@pytest.fixture
def ds() -> Dataset:
    return deals_and_leads()
