"""crmkpi.toml: sources, stages, periods, currency, SLA, margin and targets; validated on load.

This is the file's syntax only: KPI ids in [targets] and [alerts] are checked against the catalog
by crmkpi.reporting.targets (project_targets), so reading a config loads neither polars nor the
KPI catalog. Relative paths in the file are relative to the file itself, so a cron job run from
any folder reads the same data.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from crmkpi.config_schema import validate
from crmkpi.errors import ConfigError

CONFIG_NAME = "crmkpi.toml"
DEFAULT_HISTORY_PATH = ".crmkpi/history.sqlite"
NO_DATA_PERIODS = ("day", "week", "month", "quarter")


@dataclass(frozen=True)
class AlertSettings:
    """`[alerts]`: when a change, a rejected row, a stale file or an empty period alerts."""

    change_threshold: float | None = 0.2  # share of the previous value; None: no change alerts
    change_threshold_by_kpi: dict[str, float | None] = field(default_factory=dict)  # None: never
    max_file_age_days: float | None = None  # None: no staleness alerts
    max_rejected_share: float = 0.0  # rows rejected / rows read above this alerts
    no_data_period: str | None = "month"  # None: no empty-period alerts
    min_rows: int = 30  # rows behind each of the two values before a change alerts


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
    # what the file leaves unsaid (see SOURCE_FILL_KEYS): canonical column -> the value every
    # row has, and link column (lead_id...) -> the header holding it (it may be mapped as well)
    values: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)


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
    week_start_configured: bool = False
    fiscal_year_start_month: int = 1
    calendar: str = "gregorian"  # or "jalali": months, quarters and years of the Solar Hijri year
    base_currency: str | None = None
    rates_file: str | None = None
    lead_response_sla_minutes: float = 60.0
    working_hours: dict[str, Any] = field(default_factory=dict)
    gross_margin: float = 1.0
    gross_margin_configured: bool = False
    # Spend channel -> "marketing" or "sales" ([economics] sales_channels / marketing_channels).
    spend_channels: dict[str, str] = field(default_factory=dict)
    quota: dict[str, float] = field(default_factory=dict)
    targets: dict[str, Any] = field(default_factory=dict)
    targets_by_owner: dict[str, Any] = field(default_factory=dict)
    alerts: dict[str, Any] = field(default_factory=dict)
    history_path: str | None = None
    duplicates_rule: str = "newer"  # rows sharing an id across files: newer, keep or refuse
    raw: dict[str, Any] = field(default_factory=dict)
    alert_settings: AlertSettings = field(default_factory=AlertSettings)

    @property
    def folder(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def with_calendar(self, calendar: str) -> Config:
        """This config in `calendar` (--calendar); an unset week start follows the calendar."""
        if calendar not in CALENDARS:
            raise ConfigError(
                f"unknown calendar {calendar!r}", hint=f"use one of {', '.join(CALENDARS)}"
            )
        week_start = self.week_start if self.week_start_configured else _week_start_of(calendar)
        return replace(self, calendar=calendar, week_start=week_start)

    def resolve(self, relative: str | Path) -> Path:
        """A path from the config, taken relative to the config file's folder."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self.folder / p

    @property
    def history_file(self) -> Path:
        """The SQLite history store: `[history] path`, else .crmkpi/history.sqlite by the config."""
        return self.resolve(self.history_path or DEFAULT_HISTORY_PATH)


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
        raw = tomllib.loads(_config_text(p.read_bytes()))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=str(p)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (byte {exc.start + 1:,})", path=str(p), hint="save it as UTF-8"
        ) from exc
    except RecursionError as exc:
        raise ConfigError("not valid TOML: nested too deeply", path=str(p)) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=str(p)) from exc
    return parse_config(raw, p)


def _config_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), or UTF-16 with its BOM (Notepad's "Unicode")."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")


_KNOWN_SECTIONS = {
    "title", "sources", "stages", "periods", "currency", "leads", "economics", "quota",
    "targets", "alerts", "history", "cache", "duplicates", "limits",
}  # fmt: skip
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CALENDARS = ("gregorian", "jalali")


def _week_start_of(calendar: str) -> str:
    """The Iranian week starts on Saturday; otherwise the ISO Monday."""
    return "saturday" if calendar == "jalali" else "monday"


# The keys each fixed section knows; a misspelt key would otherwise be ignored without a word.
_SECTION_KEYS = {
    "periods": ("week_start", "fiscal_year_start_month", "calendar"),
    "currency": ("base", "rates_file"),
    "leads": ("response_sla_minutes", "working_hours"),
    "economics": ("gross_margin", "sales_channels", "marketing_channels"),
    "stages": ("order", "won", "lost", "probability", "stuck_days"),
}


def _section(raw: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{key}] must be a table, got {type(value).__name__}", path=str(path))
    known = _SECTION_KEYS.get(key)
    unknown = sorted(set(value) - set(known)) if known else []
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], known, n=1)
        raise ConfigError(
            f"unknown key {key}.{unknown[0]}" + (f", did you mean {close[0]!r}?" if close else ""),
            path=str(path),
            hint=f"known in [{key}]: {', '.join(known)}",
        )
    return value


def _number(value: Any, key: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{key} must be a number, got {value!r}", path=str(path))
    return float(value)


def parse_config(raw: dict[str, Any], path: Path) -> Config:
    """Validate the TOML document and build a Config; errors name the key and accepted forms."""
    validate(raw, path)
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
        _check_source(name, spec, path)
        sources.append(
            SourceConfig(
                name=name,
                path=spec.get("path"),
                table=spec.get("table", name if name in _TABLE_NAMES else None),
                preset=spec.get("preset"),
                sheet=spec.get("sheet"),
                columns=dict(spec.get("columns", {})),
                parse=dict(spec.get("parse", {})),
                **_source_fills(name, spec, path),
            )
        )
    st = _section(raw, "stages", path)
    stages = StagesConfig(
        order=_strings(st.get("order", ()), "stages.order", path),
        won=_strings(st.get("won", ()), "stages.won", path),
        lost=_strings(st.get("lost", ()), "stages.lost", path),
        probability={k: _number(v, f"stages.probability.{k}", path)
                     for k, v in _table(st, "probability", "stages", path).items()},
        stuck_days={k: _number(v, f"stages.stuck_days.{k}", path)
                    for k, v in _table(st, "stuck_days", "stages", path).items()},
    )  # fmt: skip
    for stage, share in stages.probability.items():
        if not 0 <= share <= 1:
            raise ConfigError(
                f"stages.probability.{stage} must be between 0 and 1, got {share:g}",
                path=str(path),
                hint="a share: 0.4 for 40%",
            )
    periods = _section(raw, "periods", path)
    calendar = str(periods.get("calendar", "gregorian")).lower()
    if calendar not in CALENDARS:
        raise ConfigError(
            f"periods.calendar {calendar!r} is not a calendar",
            path=str(path),
            hint=f"use one of {', '.join(CALENDARS)}",
        )
    week_start = str(periods.get("week_start", _week_start_of(calendar))).lower()
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
    if not isinstance(by_owner, dict):
        raise ConfigError(
            f"targets.by_owner must be a table, got {by_owner!r}",
            path=str(path),
            hint='e.g. [targets.by_owner] deals_won = ">= 5"',
        )
    history = _section(raw, "history", path)
    if set(history) - {"path"}:
        raise ConfigError(
            f"unknown key history.{sorted(set(history) - {'path'})[0]}",
            path=str(path),
            hint="known: path",
        )
    history_path = history.get("path")
    if history_path is not None and not isinstance(history_path, str):
        raise ConfigError(f"history.path must be a string, got {history_path!r}", path=str(path))
    title = raw.get("title")
    if title is not None and not isinstance(title, str):
        raise ConfigError(f"title must be a string, got {title!r}", path=str(path))
    config = Config(
        path=path,
        title=title,
        sources=tuple(sources),
        stages=stages,
        week_start=week_start,
        week_start_configured="week_start" in periods,
        fiscal_year_start_month=fy,
        calendar=calendar,
        base_currency=_currency_code(currency.get("base"), path),
        rates_file=_optional_string(currency, "rates_file", "currency", path),
        lead_response_sla_minutes=_number(
            leads.get("response_sla_minutes", 60), "leads.response_sla_minutes", path
        ),
        working_hours=dict(_table(leads, "working_hours", "leads", path)),
        gross_margin=float(margin) if margin is not None else 1.0,
        gross_margin_configured=margin is not None,
        spend_channels=_spend_channels(economics, path),
        quota=_quota(_section(raw, "quota", path), path),
        targets=targets,
        targets_by_owner=dict(by_owner),
        alerts=dict(_section(raw, "alerts", path)),
        history_path=history_path,
        duplicates_rule=_duplicates_rule(_section(raw, "duplicates", path), path),
        raw=raw,
        alert_settings=parse_alert_settings(_section(raw, "alerts", path), path),
    )
    return config


_DUPLICATE_RULES = ("newer", "keep", "refuse")


def _duplicates_rule(section: dict[str, Any], path: Path) -> str:
    """`[duplicates] rule`: how rows sharing an id across files but differing are settled."""
    unknown = sorted(set(section) - {"rule"})
    if unknown:
        raise ConfigError(
            f"unknown key duplicates.{unknown[0]}", path=str(path), hint="known: rule"
        )
    rule = section.get("rule", "newer")
    if rule not in _DUPLICATE_RULES:
        raise ConfigError(
            f"duplicates.rule must be one of {', '.join(_DUPLICATE_RULES)}, got {rule!r}",
            path=str(path),
        )
    return str(rule)


def _spend_channels(economics: dict[str, Any], path: Path) -> dict[str, str]:
    """Channel -> category from `[economics] sales_channels` and `marketing_channels`."""
    out: dict[str, str] = {}
    for category in ("sales", "marketing"):
        key = f"{category}_channels"
        for channel in _strings(economics.get(key, ()), f"economics.{key}", path):
            if out.get(channel, category) != category:
                raise ConfigError(
                    f"economics: channel {channel!r} is listed as both sales and marketing",
                    path=str(path),
                )
            out[channel] = category
    return out


_TABLE_NAMES = {"deals", "stage_history", "leads", "activities", "spend", "subscriptions", "nps"}


_QUOTA_PERIODS = ("day", "week", "month", "quarter", "year")


def _quota(section: dict[str, Any], path: Path) -> dict[str, float]:
    """`[quota]`: the team's quota per period; other periods are prorated from it."""
    unknown = sorted(set(section) - set(_QUOTA_PERIODS))
    if unknown:
        raise ConfigError(
            f"quota.{unknown[0]} is not a period",
            path=str(path),
            hint=f"use {', '.join(_QUOTA_PERIODS)}: e.g. month = 120000",
        )
    return {k: _number(v, f"quota.{k}", path) for k, v in section.items()}


def _table(section: dict[str, Any], key: str, name: str, path: Path) -> dict[str, Any]:
    value = section.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(
            f"{name}.{key} must be a table, got {value!r}",
            path=str(path),
            hint=f"[{name}.{key}] with one key per line, or {key} = {{ ... }}",
        )
    return value


def _optional_string(section: dict[str, Any], key: str, name: str, path: Path) -> str | None:
    value = section.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{name}.{key} must be a string, got {value!r}", path=str(path))
    return value


def _currency_code(value: Any, path: Path) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value.strip()) != 3 or not value.strip().isalpha():
        raise ConfigError(
            f"currency.base must be a 3-letter ISO 4217 code, got {value!r}",
            path=str(path),
            hint='e.g. base = "EUR"',
        )
    return value.strip().upper()


def _strings(value: Any, key: str, path: Path) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            f"{key} must be a list of strings, got {value!r}",
            path=str(path),
            hint='e.g. ["New", "Qualified", "Proposal"]',
        )
    return tuple(value)


def _check_source(name: str, spec: dict[str, Any], path: Path) -> None:
    for key in ("path", "table", "preset", "sheet"):
        value = spec.get(key)
        if value is not None and not isinstance(value, str | list):
            raise ConfigError(
                f"sources.{name}.{key} must be a string, got {value!r}", path=str(path)
            )
    table = spec.get("table")
    if isinstance(table, str) and table not in _TABLE_NAMES:
        raise ConfigError(
            f"sources.{name}.table {table!r} is not a canonical table",
            path=str(path),
            hint=f"known: {', '.join(sorted(_TABLE_NAMES))}",
        )
    for key in ("columns", "parse"):
        value = spec.get(key, {})
        if not isinstance(value, dict):
            raise ConfigError(
                f"sources.{name}.{key} must be a table, got {value!r}", path=str(path)
            )


# Keys of a [sources.NAME] section that say what its file leaves unsaid: `values` (a
# constant per canonical column: values = { status = "won" }) and `links` (a header holding the
# id of a row of another table: links = { lead_id = "mql_id" }).
SOURCE_FILL_KEYS = ("values", "links")
# The link columns a source may fill, per table: what each points to is named in schema.py.
LINK_COLUMNS = {
    "deals": ("lead_id", "customer_id"),
    "activities": ("lead_id", "deal_id"),
    "subscriptions": ("customer_id", "owner"),
    "nps": ("customer_id", "owner"),
    "leads": ("customer_id",),
}


def _source_fills(name: str, spec: dict[str, Any], path: Path) -> dict[str, dict[str, str]]:
    """`values` and `links` of a source, checked: tables of strings, known columns."""
    table = spec.get("table", name if name in _TABLE_NAMES else None)
    out: dict[str, dict[str, str]] = {}
    for key in SOURCE_FILL_KEYS:
        section = spec.get(key, {})
        where = f"sources.{name}.{key}"
        if not isinstance(section, dict):
            raise ConfigError(
                f"{where} must be a table, got {section!r}",
                path=str(path),
                hint='e.g. values = { status = "won" }'
                if key == "values"
                else 'e.g. links = { lead_id = "mql_id" }',
            )
        for column, value in section.items():
            if not isinstance(value, str):
                raise ConfigError(
                    f"{where}.{column} must be a string, got {value!r}", path=str(path)
                )
            if table is None:
                raise ConfigError(
                    f"{where} needs the source's table", path=str(path), hint='table = "deals"'
                )
            known = LINK_COLUMNS.get(table, ()) if key == "links" else _table_columns(table)
            if column not in known:
                raise ConfigError(
                    f"{where}.{column}: {table} has no such {'link ' if key == 'links' else ''}"
                    "column",
                    path=str(path),
                    hint=f"known: {', '.join(known)}",
                )
        out[key] = dict(section)
    return out


def _table_columns(table: str) -> tuple[str, ...]:
    # here, not at the top: the schema loads Polars, which reading a config needs only for this
    from crmkpi.schema import TABLES

    return TABLES[table].names


_ALERT_KEYS = (
    "change_threshold", "change_threshold_by_kpi", "max_file_age_days", "max_rejected_share",
    "no_data_period", "min_rows",
)  # fmt: skip


def parse_alert_settings(section: dict[str, Any], path: Path) -> AlertSettings:
    """`[alerts]`: each key optional; `false` turns a kind of alert off."""
    unknown = sorted(set(section) - set(_ALERT_KEYS))
    if unknown:
        raise ConfigError(
            f"unknown key alerts.{unknown[0]}",
            path=str(path),
            hint=f"known: {', '.join(_ALERT_KEYS)}",
        )
    defaults = AlertSettings()

    def share_or_off(key: str, default: float | None, upper: float | None) -> float | None:
        value = section.get(key, default)
        if value is False or value is None:
            return None
        number = _number(value, f"alerts.{key}", path)
        if number < 0 or (upper is not None and number > upper):
            raise ConfigError(
                f"alerts.{key} must be between 0 and {upper:g}, got {value!r}"
                if upper is not None
                else f"alerts.{key} must be 0 or more, got {value!r}",
                path=str(path),
                hint="false turns it off",
            )
        return number

    period = section.get("no_data_period", defaults.no_data_period)
    if period is False:
        period = None
    if period is not None and period not in NO_DATA_PERIODS:
        raise ConfigError(
            f"alerts.no_data_period must be one of {', '.join(NO_DATA_PERIODS)} or false, "
            f"got {period!r}",
            path=str(path),
        )
    rejected = share_or_off("max_rejected_share", defaults.max_rejected_share, 1.0)
    by_kpi = section.get("change_threshold_by_kpi", {})
    if not isinstance(by_kpi, dict):
        raise ConfigError(
            f"alerts.change_threshold_by_kpi must be a table, got {by_kpi!r}",
            path=str(path),
            hint="e.g. [alerts.change_threshold_by_kpi] customer_churn_rate = 0.5",
        )
    thresholds: dict[str, float | None] = {}
    for kpi, value in by_kpi.items():
        key = f"alerts.change_threshold_by_kpi.{kpi}"
        thresholds[kpi] = None if value is False else _number(value, key, path)
        if thresholds[kpi] is not None and thresholds[kpi] < 0:  # type: ignore[operator]
            raise ConfigError(f"{key} must be 0 or more, got {value!r}", path=str(path))
    min_rows = section.get("min_rows", defaults.min_rows)
    if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 0:
        raise ConfigError(
            f"alerts.min_rows must be a whole number 0 or more, got {min_rows!r}",
            path=str(path),
            hint="rows behind each value before a change alerts, e.g. 30",
        )
    return AlertSettings(
        min_rows=min_rows,
        change_threshold=share_or_off("change_threshold", defaults.change_threshold, None),
        change_threshold_by_kpi=thresholds,
        max_file_age_days=share_or_off("max_file_age_days", None, None),
        max_rejected_share=1.0 if rejected is None else rejected,
        no_data_period=period,
    )


def toml_string(value: str) -> str:
    """`value` as a TOML basic string, for the config sections `init` and `inspect` write."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
