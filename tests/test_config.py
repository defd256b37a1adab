"""crmkpi.toml validation: every mistake names the file, the key and what is accepted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from crmkpi.config import AlertSettings, load_config
from crmkpi.errors import ConfigError
from crmkpi.reporting.targets import project_targets


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "crmkpi.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_issue_example_parses(tmp_path):
    path = write(
        tmp_path,
        """
[targets]
win_rate = ">= 0.25"
sales_cycle_days_median = "<= 30"
avg_deal_size = { min = 1000, warn = 1500 }
[targets.by_owner]
deals_won = ">= 5"
[targets.by_owner."Ana Ruiz"]
deals_won = ">= 8"
""",
    )
    targets = project_targets(load_config(path))
    assert targets.team["win_rate"].minimum == 0.25
    assert targets.team["sales_cycle_days_median"].maximum == 30
    assert targets.team["avg_deal_size"].warn == 1500
    # Ana's own table overrides the one for every owner; others keep ">= 5".
    assert targets.for_owner("Ana Ruiz")["deals_won"].minimum == 8
    assert targets.for_owner("Bo")["deals_won"].minimum == 5
    assert targets.owner_kpis == {"deals_won"}


def error_for(tmp_path: Path, text: str) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        project_targets(load_config(path))  # syntax from load_config, KPI ids from the catalog
    assert str(path) in str(info.value)  # every error names the file
    return info.value


def test_unknown_kpi_id_suggests_the_close_one(tmp_path):
    err = error_for(tmp_path, '[targets]\nwin_rat = ">= 0.2"\n')
    assert "targets.win_rat: unknown KPI id 'win_rat'" in str(err)
    assert "did you mean 'win_rate'" in str(err)


def test_unknown_kpi_in_by_owner(tmp_path):
    err = error_for(tmp_path, '[targets.by_owner]\nrevenue = ">= 2"\n')
    assert "targets.by_owner.revenue" in str(err)
    err = error_for(tmp_path, '[targets.by_owner.Ana]\nwins = ">= 2"\n')
    assert "targets.by_owner.Ana.wins: unknown KPI id" in str(err)


def test_malformed_target_lists_accepted_forms(tmp_path):
    err = error_for(tmp_path, '[targets]\nwin_rate = "at least 25%"\n')
    assert "targets.win_rate: malformed target: cannot read 'at least 25%'" in str(err)
    assert '">= 0.25"' in str(err) and "{ max = 1200, warn = 1000 }" in str(err)


def test_wrong_types(tmp_path):
    assert "malformed target: got a boolean" in str(
        error_for(tmp_path, "[targets]\nwin_rate = true\n")
    )
    assert "targets.by_owner must be a table" in str(
        error_for(tmp_path, "[targets]\nby_owner = 5\n")
    )
    assert "[targets] must be a table" in str(error_for(tmp_path, 'targets = ">= 1"\n'))
    assert "history.path must be a string" in str(error_for(tmp_path, "[history]\npath = 3\n"))
    assert "stages.order must be a list of strings" in str(
        error_for(tmp_path, "[stages]\norder = [1, 2]\n")
    )
    assert "sources.deals.columns must be a table" in str(
        error_for(tmp_path, '[sources.deals]\npath = "d.csv"\ncolumns = "x"\n')
    )
    assert "sources.deals.table 'deal' is not a canonical table" in str(
        error_for(tmp_path, '[sources.deals]\ntable = "deal"\n')
    )


def test_alert_settings(tmp_path):
    path = write(
        tmp_path,
        "[alerts]\nchange_threshold = 0.3\nmax_file_age_days = 2\nno_data_period = false\n",
    )
    assert load_config(path).alert_settings == AlertSettings(
        change_threshold=0.3, max_file_age_days=2.0, max_rejected_share=0.0, no_data_period=None
    )
    path = write(tmp_path, "[alerts]\nchange_threshold = false\n")
    assert load_config(path).alert_settings.change_threshold is None
    assert "unknown key alerts.threshold" in str(error_for(tmp_path, "[alerts]\nthreshold = 0.2\n"))
    assert "alerts.change_threshold must be a number" in str(
        error_for(tmp_path, '[alerts]\nchange_threshold = "20%"\n')
    )
    assert "alerts.max_rejected_share must be between 0 and 1" in str(
        error_for(tmp_path, "[alerts]\nmax_rejected_share = 2\n")
    )
    assert "alerts.no_data_period must be one of day, week, month, quarter" in str(
        error_for(tmp_path, '[alerts]\nno_data_period = "year"\n')
    )


def test_defaults_without_a_file():
    config = load_config(None)
    assert not project_targets(config)
    assert config.alert_settings.change_threshold == 0.2
    assert config.history_file == Path.cwd() / ".crmkpi" / "history.sqlite"


def test_paths_are_relative_to_the_config_file(tmp_path):
    sub = tmp_path / "project"
    sub.mkdir()
    path = sub / "crmkpi.toml"
    path.write_text('[history]\npath = "store/runs.sqlite"\n', encoding="utf-8")
    config = load_config(path)
    assert config.history_file == sub / "store" / "runs.sqlite"
    assert config.resolve("exports/deals.csv") == sub / "exports" / "deals.csv"
    assert config.resolve("/abs/deals.csv") == Path("/abs/deals.csv")
    assert load_config(write(tmp_path, "")).history_file == tmp_path / ".crmkpi/history.sqlite"


def test_an_owner_table_is_told_apart_from_a_kpi_table(tmp_path):
    path = write(
        tmp_path,
        "[targets.by_owner.Ana]\n"  # empty for now: an owner, not a KPI
        "[targets.by_owner.deals_won]\nmin = 3\nwarn = 5\n",  # a KPI's table form
    )
    targets = project_targets(load_config(path))
    assert targets.per_owner == {"Ana": {}}
    assert (targets.every_owner["deals_won"].minimum, targets.every_owner["deals_won"].warn) == (
        3.0,
        5.0,
    )
    # A misspelt KPI with a table form is still a misspelt KPI, not an owner.
    err = error_for(tmp_path, "[targets.by_owner.deals_wn]\nmin = 3\n")
    assert "unknown KPI id 'deals_wn', did you mean 'deals_won'?" in str(err)


def test_change_threshold_per_kpi(tmp_path):
    path = write(
        tmp_path,
        "[alerts]\nchange_threshold = false\n"
        "[alerts.change_threshold_by_kpi]\nwin_rate = 0.1\ndeals_lost = false\n",
    )
    settings = load_config(path).alert_settings
    assert settings.change_threshold is None
    assert settings.change_threshold_by_kpi == {"win_rate": 0.1, "deals_lost": None}
    err = error_for(tmp_path, "[alerts.change_threshold_by_kpi]\nwinrate = 0.1\n")
    assert "alerts.change_threshold_by_kpi.winrate: unknown KPI id" in str(err)
    err = error_for(tmp_path, "[alerts.change_threshold_by_kpi]\nwin_rate = -1\n")
    assert "must be 0 or more" in str(err)


def test_stages_currency_and_leads_types(tmp_path):
    assert "stages.probability.Proposal must be between 0 and 1, got 40" in str(
        error_for(tmp_path, "[stages.probability]\nProposal = 40\n")
    )
    assert "stages.stuck_days must be a table" in str(
        error_for(tmp_path, "[stages]\nstuck_days = 30\n")
    )
    assert "currency.base must be a 3-letter ISO 4217 code, got 'euro'" in str(
        error_for(tmp_path, '[currency]\nbase = "euro"\n')
    )
    assert "currency.rates_file must be a string" in str(
        error_for(tmp_path, "[currency]\nrates_file = 1\n")
    )
    assert "leads.working_hours must be a table" in str(
        error_for(tmp_path, '[leads]\nworking_hours = "9-18"\n')
    )
    config = load_config(
        write(tmp_path, '[currency]\nbase = "eur"\n[stages.probability]\nA = 0.4\n')
    )
    assert (config.base_currency, config.stages.probability) == ("EUR", {"A": 0.4})


def test_quota_keys_are_periods(tmp_path):
    assert load_config(write(tmp_path, "[quota]\nmonth = 120000\n")).quota == {"month": 120000.0}
    err = error_for(tmp_path, "[quota]\nAna = 120000\n")
    assert "quota.Ana is not a period" in str(err) and "month = 120000" in str(err)


def test_a_misspelt_key_in_a_fixed_section_is_named(tmp_path):
    err = error_for(tmp_path, '[periods]\nweek_starts = "sunday"\n')
    assert "unknown key periods.week_starts, did you mean 'week_start'?" in str(err)
    assert "known in [periods]: week_start, fiscal_year_start_month" in str(err)
    assert "unknown key leads.sla_minutes" in str(error_for(tmp_path, "[leads]\nsla_minutes = 5\n"))
    assert "unknown key stages.orders" in str(error_for(tmp_path, '[stages]\norders = ["A"]\n'))


def test_reading_a_config_with_targets_loads_neither_polars_nor_the_catalog(tmp_path):
    # The config is syntax: the KPI ids of [targets] are resolved by the report, not on reading.
    path = write(tmp_path, '[targets]\nwin_rate = ">= 0.25"\n[targets.by_owner]\ndeals_won = 5\n')
    code = (
        "import sys; from crmkpi.config import load_config; "
        f"c = load_config({str(path)!r}); "
        "print(sorted(c.targets), 'polars' in sys.modules, 'crmkpi.metrics' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["['win_rate']", "False", "False"]


def test_jalali_calendar_starts_weeks_on_saturday_unless_told(tmp_path):
    config = load_config(write(tmp_path, '[periods]\ncalendar = "jalali"\n'))
    assert (config.calendar, config.week_start) == ("jalali", "saturday")
    told = load_config(write(tmp_path, '[periods]\ncalendar = "jalali"\nweek_start = "monday"\n'))
    assert (told.calendar, told.week_start) == ("jalali", "monday")
    assert load_config(None).calendar == "gregorian"


def test_calendar_flag_keeps_a_configured_week_start(tmp_path):
    unset = load_config(write(tmp_path, "[periods]\nfiscal_year_start_month = 1\n"))
    assert unset.with_calendar("jalali").week_start == "saturday"
    sunday = load_config(write(tmp_path, '[periods]\nweek_start = "sunday"\n'))
    assert sunday.with_calendar("jalali").week_start == "sunday"
    assert unset.with_calendar("jalali").with_calendar("gregorian").week_start == "monday"


def test_unknown_calendar_is_named(tmp_path):
    with pytest.raises(ConfigError, match="calendar.*hijri"):
        load_config(write(tmp_path, '[periods]\ncalendar = "hijri"\n'))
