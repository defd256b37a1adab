"""crmkpi: sales KPIs from any CRM's exports.

The public Python API is the same core the command line uses.
"""

from __future__ import annotations

__version__ = "0.1.0"
