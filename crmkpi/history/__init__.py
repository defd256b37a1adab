"""The store of past runs: KPI values saved by `report --history`, read by `history` and alerts."""
