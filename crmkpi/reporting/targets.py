"""KPI targets from crmkpi.toml: parsing the accepted forms and judging a value against them.

A target is a bound (at least / at most / between) plus an optional warn level that fires
before the bound is crossed, so a report can say "ok", "warn" or "bad" for a KPI.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmkpi.errors import ConfigError
from crmkpi.reporting.i18n.active import t

if TYPE_CHECKING:
    from crmkpi.config import Config

STATUS_OK = "ok"
STATUS_WARN = "warn"
STATUS_BAD = "bad"

ACCEPTED_FORMS = (
    'a string ">= 0.25", "<= 30", "> 5", "< 1200" (a percentage like ">= 25%" also works), '
    "a number (read as at least / at most by the KPI's direction), "
    "or a table { min = 0.25 }, { max = 1200, warn = 1000 }, { min = 5, max = 20 }, "
    'with per = "month", "quarter" or "year" to judge one whole period: '
    '{ min = 40, per = "quarter" }'
)

_COMPARISON = re.compile(
    r"^\s*(>=|<=|>|<|=>|=<|≥|≤)\s*([-+]?[0-9][0-9_,]*\.?[0-9]*(?:[eE][-+]?\d+)?)\s*(%?)\s*$"
)
_OPERATORS = {"=>": ">=", "=<": "<=", "≥": ">=", "≤": "<="}
_TABLE_KEYS = {"min", "max", "warn", "per"}
TARGET_PERIODS = ("month", "quarter", "year")


class TargetError(ValueError):
    """A target that does not parse; config.py turns it into a ConfigError with the file name."""


@dataclass(frozen=True)
class Target:
    """A bound on one KPI. `minimum`/`maximum` are the bad levels; `warn` fires before them.

    `strict_*` marks `>`/`<` bounds, where the limit itself already breaches. `per` names the
    period the bound is for ("quarter": at least 40 deals won in a quarter): it is judged on the
    latest whole period of that kind, not on the report's window.
    """

    kpi: str
    minimum: float | None = None
    maximum: float | None = None
    warn: float | None = None
    strict_minimum: bool = False
    strict_maximum: bool = False
    per: str | None = None

    @property
    def text(self) -> str:
        """The target as written: ">= 0.25", "<= 1200 (warn 1000)", "5 .. 20"."""
        return self.describe(_num)

    def describe(self, number: Callable[[float], str], with_warn: bool = True) -> str:
        """The target with each number shown by `number` (e.g. 25.0% for a ratio KPI)."""
        if self.minimum is not None and self.maximum is not None:
            body = f"{number(self.minimum)} .. {number(self.maximum)}"
        elif self.minimum is not None:
            body = f"{'>' if self.strict_minimum else '>='} {number(self.minimum)}"
        else:
            assert self.maximum is not None
            body = f"{'<' if self.strict_maximum else '<='} {number(self.maximum)}"
        body += f" per {self.per}" if self.per else ""
        if self.warn is None or not with_warn:
            return body
        return t("{target} (warn {warn})", target=body, warn=number(self.warn))

    def status(self, value: float | None) -> str | None:
        """ok, warn or bad for `value`; None when there is no value to judge."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if self.below(value) or self.above(value):
            return STATUS_BAD
        if self.warn is not None:
            if self.minimum is not None and value < self.warn:
                return STATUS_WARN
            if self.maximum is not None and value > self.warn:
                return STATUS_WARN
        return STATUS_OK

    def below(self, value: float) -> bool:
        if self.minimum is None:
            return False
        return value <= self.minimum if self.strict_minimum else value < self.minimum

    def above(self, value: float) -> bool:
        if self.maximum is None:
            return False
        return value >= self.maximum if self.strict_maximum else value > self.maximum

    def breach_words(self, value: float, number: Callable[[float], str] | None = None) -> str:
        """What went wrong, in words: "below target >= 0.25" or "above warn level 1000"."""
        number = number or _num
        text = self.describe(number)
        if self.below(value):
            return f"below target {text}"
        if self.above(value):
            return f"above target {text}"
        assert self.warn is not None
        side = "below" if self.minimum is not None else "above"
        return f"{side} warn level {number(self.warn)} (target {self.describe(number, False)})"


def _num(value: float) -> str:
    return f"{value:.15g}"


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TargetError(f"{what} must be a number, got {value!r}")
    if math.isnan(value) or math.isinf(value):
        raise TargetError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def parse_target(kpi: str, spec: Any, direction: str = "neutral") -> Target:
    """Read one target in any accepted form; `direction` decides what a bare number means."""
    if isinstance(spec, str):
        return _parse_comparison(kpi, spec)
    if isinstance(spec, bool):
        raise TargetError(f"got a boolean {spec!r}")
    if isinstance(spec, int | float):
        bound = _number(spec, "the target")
        if direction == "higher":
            return Target(kpi, minimum=bound)
        if direction == "lower":
            return Target(kpi, maximum=bound)
        raise TargetError(
            f"a bare number {spec!r} is ambiguous for {kpi}, which has no better direction; "
            'write ">= N" or "<= N"'
        )
    if isinstance(spec, dict):
        return _parse_table(kpi, spec)
    raise TargetError(f"got {type(spec).__name__} {spec!r}")


def _parse_comparison(kpi: str, spec: str) -> Target:
    match = _COMPARISON.match(spec)
    if not match:
        raise TargetError(f"cannot read {spec!r}")
    op, number, percent = match.groups()
    op = _OPERATORS.get(op, op)
    try:
        bound = float(number.replace("_", "").replace(",", ""))
    except ValueError as exc:
        raise TargetError(f"cannot read the number in {spec!r}") from exc
    if percent:
        bound /= 100
    if op in (">=", ">"):
        return Target(kpi, minimum=bound, strict_minimum=op == ">")
    return Target(kpi, maximum=bound, strict_maximum=op == "<")


def _parse_table(kpi: str, spec: dict[str, Any]) -> Target:
    unknown = sorted(set(spec) - _TABLE_KEYS)
    if unknown:
        raise TargetError(f"unknown key {unknown[0]!r} (use min, max, warn, per)")
    per = spec.get("per")
    if per is not None and per not in TARGET_PERIODS:
        raise TargetError(f"per must be one of {', '.join(TARGET_PERIODS)}, got {per!r}")
    minimum = _number(spec["min"], "min") if "min" in spec else None
    maximum = _number(spec["max"], "max") if "max" in spec else None
    warn = _number(spec["warn"], "warn") if "warn" in spec else None
    if minimum is None and maximum is None:
        raise TargetError("needs min or max")
    if minimum is not None and maximum is not None:
        if minimum > maximum:
            raise TargetError(f"min {_num(minimum)} is above max {_num(maximum)}")
        if warn is not None:
            raise TargetError("warn needs a one-sided target (min or max, not both)")
    if warn is not None and minimum is not None and warn < minimum:
        raise TargetError(f"warn {_num(warn)} must be at or above min {_num(minimum)}")
    if warn is not None and maximum is not None and warn > maximum:
        raise TargetError(f"warn {_num(warn)} must be at or below max {_num(maximum)}")
    return Target(kpi, minimum=minimum, maximum=maximum, warn=warn, per=per)


@dataclass(frozen=True)
class Targets:
    """Every target of a project: team-level, for all owners, and for one named owner."""

    team: dict[str, Target]
    every_owner: dict[str, Target]
    per_owner: dict[str, dict[str, Target]]

    def for_owner(self, owner: str) -> dict[str, Target]:
        """An owner's targets: the ones for everyone, overridden by the owner's own."""
        return {**self.every_owner, **self.per_owner.get(owner, {})}

    @property
    def owner_kpis(self) -> set[str]:
        ids = set(self.every_owner)
        for own in self.per_owner.values():
            ids.update(own)
        return ids

    def __bool__(self) -> bool:
        return bool(self.team or self.every_owner or self.per_owner)


NO_TARGETS = Targets({}, {}, {})


def kpi_direction(kpi: str, key: str, path: Path) -> str:
    """The KPI's better direction; a ConfigError naming `key` when the id is unknown."""
    from crmkpi.metrics import CATALOG  # polars behind it: only when targets exist

    metric = CATALOG.get(kpi)
    if metric is None:
        import difflib

        close = difflib.get_close_matches(kpi, list(CATALOG), n=1)
        raise ConfigError(
            f"{key}: unknown KPI id {kpi!r}" + (f", did you mean {close[0]!r}?" if close else ""),
            path=str(path),
            hint="`crmkpi metrics` lists the KPI ids",
        )
    return metric.direction


def _target(kpi: str, spec: Any, key: str, path: Path) -> Target:
    """One target of crmkpi.toml at `key`, as a ConfigError with the accepted forms if bad."""
    direction = kpi_direction(kpi, key, path)
    try:
        return parse_target(kpi, spec, direction)
    except TargetError as exc:
        raise ConfigError(
            f"{key}: malformed target: {exc}", path=str(path), hint=f"accepted: {ACCEPTED_FORMS}"
        ) from exc


def parse_targets(team: dict[str, Any], by_owner: dict[str, Any], path: Path) -> Targets:
    """`[targets]` and `[targets.by_owner]` (a KPI id for every owner, or an owner's own table)."""
    from crmkpi.metrics import CATALOG

    parsed_team = {k: _target(k, v, f"targets.{k}", path) for k, v in team.items()}
    every_owner: dict[str, Target] = {}
    per_owner: dict[str, dict[str, Target]] = {}
    for key, spec in by_owner.items():
        # A table whose keys are not min/max/warn (or an empty one) is an owner's own targets.
        owner_table = isinstance(spec, dict) and (not spec or not set(spec) <= _TABLE_KEYS)
        if key not in CATALOG and owner_table:
            per_owner[key] = {
                k: _target(k, v, f"targets.by_owner.{key}.{k}", path) for k, v in spec.items()
            }
        else:
            every_owner[key] = _target(key, spec, f"targets.by_owner.{key}", path)
    return Targets(parsed_team, every_owner, per_owner)


def project_targets(config: Config) -> Targets:
    """The targets of crmkpi.toml resolved against the KPI catalog, and the KPI ids of
    `[alerts.change_threshold_by_kpi]` checked: a ConfigError names the key of an unknown id."""
    if not (
        config.targets or config.targets_by_owner or config.alert_settings.change_threshold_by_kpi
    ):
        return NO_TARGETS
    path = config.path or Path("crmkpi.toml")
    targets = parse_targets(config.targets, config.targets_by_owner, path)
    for kpi in config.alert_settings.change_threshold_by_kpi:
        kpi_direction(kpi, f"alerts.change_threshold_by_kpi.{kpi}", path)
    return targets
