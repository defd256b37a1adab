"""A sentence the report writes about numbers (an alert), kept as a message template with
named parameters so it can be said again in the reader's language.

The English text is made when the alert is (JSON and `--quiet` show it); the renderers of a
translated report make it again with the template translated and each number in the
reader's locale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crmkpi.reporting.format import format_value
from crmkpi.reporting.i18n.active import t


@dataclass(frozen=True)
class Shown:
    """A number in a unit ("ratio", "minutes"...), shown as the reader writes it."""

    value: float | None
    unit: str = ""


@dataclass(frozen=True)
class Label:
    """A KPI's label, translated by KPI id."""

    kpi_id: str
    english: str


@dataclass(frozen=True)
class Message:
    template: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        """The sentence in the active language (English outside a translated render)."""
        return t(self.template, **{name: _shown(v) for name, v in self.params.items()})


def message(template: str, **params: Any) -> Message:
    """A message: `params` are text (as is), Shown numbers, Label KPI labels, nested
    Messages, or callables that make their text when it is needed (a target's description)."""
    return Message(template, params)


def _shown(value: Any) -> str:
    if isinstance(value, Shown):
        return format_value(value.value, value.unit)
    if isinstance(value, Label):
        return t(value.english, value.kpi_id)
    if isinstance(value, Message):
        return value.text()
    if isinstance(value, Callable):  # type: ignore[arg-type]
        return str(value())
    return str(value)
