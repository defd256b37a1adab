"""crmkpi.toml: sources, stages, periods, currency, SLA, margin and targets; validated on load.

Relative paths in the file are relative to the file itself, so a cron job run from any folder
reads the same data.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmkpi.errors import ConfigError

CONFIG_NAME = "crmkpi.toml"


@dataclass(frozen=True)
class SourceConfig:
    """One `[sources.NAME]` section: which files, which preset, column mapping, parse hints."""

    name: str
    path: str | None = None
    table: str | None = None
    preset: str | None = None
    sheet: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    parse: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StagesConfig:
    order: tuple[str, ...] = ()
    won: tuple[str, ...] = ()
    lost: tuple[str, ...] = ()
    probability: dict[str, float] = field(default_factory=dict)
    stuck_days: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    """The whole project configuration. Every field has a working default."""

    path: Path | None = None
    title: str | None = None
    sources: tuple[SourceConfig, ...] = ()
    stages: StagesConfig = field(default_factory=StagesConfig)
    week_start: str = "monday"
    fiscal_year_start_month: int = 1
    base_currency: str | None = None
    rates_file: str | None = None
    lead_response_sla_minutes: float = 60.0
    working_hours: dict[str, Any] = field(default_factory=dict)
    gross_margin: float = 1.0
    gross_margin_configured: bool = False
    quota: dict[str, float] = field(default_factory=dict)
    targets: dict[str, Any] = field(default_factory=dict)
    targets_by_owner: dict[str, Any] = field(default_factory=dict)
    alerts: dict[str, Any] = field(default_factory=dict)
    history_path: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def resolve(self, relative: str | Path) -> Path:
        """A path from the config, taken relative to the config file's folder."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self.folder / p


def find_config(explicit: str | Path | None, search_from: Path | None = None) -> Path | None:
    """The config given, else `crmkpi.toml` in the current folder, else none."""
    if explicit is not None:
        p = Path(explicit)
        if not p.is_file():
            raise ConfigError("config file not found", path=str(p))
        return p
    candidate = (search_from or Path.cwd()) / CONFIG_NAME
    return candidate if candidate.is_file() else None


def load_config(path: str | Path | None) -> Config:
    """Read and validate a crmkpi.toml; `None` gives the defaults."""
    if path is None:
        return Config()
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=str(p)) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=str(p)) from exc
    return parse_config(raw, p)


_KNOWN_SECTIONS = {
    "title", "sources", "stages", "periods", "currency", "leads", "economics", "quota",
    "targets", "alerts", "history",
}  # fmt: skip
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _section(raw: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{key}] must be a table, got {type(value).__name__}", path=str(path))
    return value


def _number(value: Any, key: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{key} must be a number, got {value!r}", path=str(path))
    return float(value)


def parse_config(raw: dict[str, Any], path: Path) -> Config:
    """Validate the TOML document and build a Config; errors name the key and accepted forms."""
    unknown = sorted(set(raw) - _KNOWN_SECTIONS)
    if unknown:
        raise ConfigError(
            f"unknown section {unknown[0]!r}",
            path=str(path),
            hint=f"known: {', '.join(sorted(_KNOWN_SECTIONS))}",
        )
    sources = []
    for name, spec in _section(raw, "sources", path).items():
        if not isinstance(spec, dict):
            raise ConfigError(f"[sources.{name}] must be a table", path=str(path))
        sources.append(
            SourceConfig(
                name=name,
                path=spec.get("path"),
                table=spec.get("table", name if name in _TABLE_NAMES else None),
                preset=spec.get("preset"),
                sheet=spec.get("sheet"),
                columns=dict(spec.get("columns", {})),
                parse=dict(spec.get("parse", {})),
            )
        )
    st = _section(raw, "stages", path)
    stages = StagesConfig(
        order=tuple(st.get("order", ())),
        won=tuple(st.get("won", ())),
        lost=tuple(st.get("lost", ())),
        probability={k: _number(v, f"stages.probability.{k}", path)
                     for k, v in st.get("probability", {}).items()},
        stuck_days={k: _number(v, f"stages.stuck_days.{k}", path)
                    for k, v in st.get("stuck_days", {}).items()},
    )  # fmt: skip
    periods = _section(raw, "periods", path)
    week_start = str(periods.get("week_start", "monday")).lower()
    if week_start not in _WEEKDAYS:
        raise ConfigError(
            f"periods.week_start {week_start!r} is not a weekday",
            path=str(path),
            hint="use monday ... sunday",
        )
    fy = periods.get("fiscal_year_start_month", 1)
    if not isinstance(fy, int) or not 1 <= fy <= 12:
        raise ConfigError(
            f"periods.fiscal_year_start_month must be 1..12, got {fy!r}", path=str(path)
        )
    currency = _section(raw, "currency", path)
    leads = _section(raw, "leads", path)
    economics = _section(raw, "economics", path)
    margin = economics.get("gross_margin")
    if margin is not None and not 0 < _number(margin, "economics.gross_margin", path) <= 1:
        raise ConfigError("economics.gross_margin must be in (0, 1]", path=str(path))
    targets = dict(_section(raw, "targets", path))
    by_owner = targets.pop("by_owner", {})
    history = _section(raw, "history", path)
    config = Config(
        path=path,
        title=raw.get("title"),
        sources=tuple(sources),
        stages=stages,
        week_start=week_start,
        fiscal_year_start_month=fy,
        base_currency=currency.get("base"),
        rates_file=currency.get("rates_file"),
        lead_response_sla_minutes=_number(
            leads.get("response_sla_minutes", 60), "leads.response_sla_minutes", path
        ),
        working_hours=dict(leads.get("working_hours", {})),
        gross_margin=float(margin) if margin is not None else 1.0,
        gross_margin_configured=margin is not None,
        quota={k: _number(v, f"quota.{k}", path) for k, v in _section(raw, "quota", path).items()},
        targets=targets,
        targets_by_owner=dict(by_owner),
        alerts=dict(_section(raw, "alerts", path)),
        history_path=history.get("path"),
        raw=raw,
    )
    return config


_TABLE_NAMES = {"deals", "stage_history", "leads", "activities", "spend", "subscriptions", "nps"}
