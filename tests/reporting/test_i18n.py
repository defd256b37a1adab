"""The report in its reader's language (crmkpi.reporting.i18n): catalogs complete and
well-formed, the language chosen from --lang, config or locale, and the model translated at
the render boundary with ids and values untouched."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from conftest import hand_report

from crmkpi.errors import UsageError
from crmkpi.metrics import TABLE_CATALOG
from crmkpi.reporting.alerts import change_alerts, target_alerts
from crmkpi.reporting.i18n import LANGUAGES, Messages, resolve_language, use_language
from crmkpi.reporting.i18n.localize import localized
from crmkpi.reporting.i18n.msgids import english_msgids
from crmkpi.reporting.model import KpiValue
from crmkpi.reporting.targets import parse_target

SHIPPED = [lang for lang in LANGUAGES if lang != "en"]
PLACEHOLDER = re.compile(r"\{(\w+)\}")
NBSP = "\u00a0"
# The sheet names the workbook gives (crmkpi.reporting.excel), table titles besides.
SHEETS = ["Summary", "Trends", "Trend charts", "Alerts", "Inputs", "Not computed", "Definitions"]


def report_columns() -> tuple[str, ...]:
    frames = hand_report().tables.values()
    return tuple(c for table in frames for c in table.frame.columns)


def test_the_five_languages_ship() -> None:
    assert set(SHIPPED) >= {"el", "fa", "ru", "ca", "es"}


@pytest.mark.parametrize("language", SHIPPED)
def test_every_english_message_has_a_translation(language: str) -> None:
    """A label, heading or template added in English must be translated in every shipped
    language: the integrator adds one entry per .po file (msgctxt is the KPI id for labels)."""
    messages = Messages(language)
    missing = [
        f"{context or ''}|{msgid}"
        for context, msgid in english_msgids(report_columns())
        if not messages.has(msgid, context)
    ]
    assert missing == []


@pytest.mark.parametrize("language", SHIPPED)
def test_translations_keep_the_placeholders(language: str) -> None:
    for (_, msgid), text in Messages(language).table.items():
        assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(msgid)), msgid


@pytest.mark.parametrize("language", SHIPPED)
def test_sheet_names_fit_excel(language: str) -> None:
    messages = Messages(language)
    for name in [*SHEETS, *(spec.title for spec in TABLE_CATALOG.values())]:
        text = messages.text(name)
        assert len(text) <= 31 and not re.search(r"[\[\]:*?/\\]", text), text


def test_auto_reads_the_locale_as_gettext_does() -> None:
    # LC_ALL wins, an empty one is skipped, then LC_MESSAGES, then LANG.
    env = {"LC_ALL": "", "LC_MESSAGES": "ru_RU.UTF-8", "LANG": "es_ES.UTF-8"}
    assert resolve_language("auto", env) == "ru"
    assert resolve_language("auto", {"LC_ALL": "fa_IR.UTF-8", "LANG": "es_ES"}) == "fa"
    assert resolve_language("auto", {"LANG": "ca_ES@euro"}) == "ca"
    # A locale without a catalog, or none at all: English.
    assert resolve_language("auto", {"LANG": "de_DE.UTF-8"}) == "en"
    assert resolve_language("auto", {}) == "en"
    assert resolve_language("es-ES") == "es"
    assert resolve_language(None) == "en"


def test_an_unshipped_language_is_refused_by_name() -> None:
    with pytest.raises(UsageError, match="no report language 'xx'"):
        resolve_language("xx")


def test_kpi_labels_are_looked_up_by_kpi_id() -> None:
    # The same English word is a KPI label under two ids: the catalog has deals_total only,
    # so a translation by English text alone would wrongly translate the other as well.
    report = hand_report()
    report.kpis["deals_total"] = KpiValue("deals_total", "Deals", "count", 3.0)
    report.kpis["custom_deals"] = KpiValue("custom_deals", "Deals", "count", 3.0)
    with use_language("es"):
        shown = localized(report)
    assert shown.kpis["deals_total"].label == "Negocios"
    assert shown.kpis["custom_deals"].label == "Deals"
    assert shown.kpis["win_rate"].label == "Tasa de éxito"


def test_translation_changes_words_not_ids_or_values() -> None:
    report = hand_report()
    with use_language("fa"):
        shown = localized(report)
    assert list(shown.kpis) == list(report.kpis)
    assert [k.value for k in shown.kpis.values()] == [k.value for k in report.kpis.values()]
    assert [s.id for s in shown.sections] == [s.id for s in report.sections]
    assert shown.sections[0].title == "شاخص‌های کلیدی"
    assert shown.kpis["win_rate"].status == "ok"  # renderers style by the English status


@pytest.mark.parametrize("language", SHIPPED)
def test_json_stays_as_it_is_in_every_language(language: str) -> None:
    english = json.loads(str(hand_report().render("json")))
    translated = replace(hand_report(), language=language)
    assert json.loads(str(translated.render("json"))) == english


def test_change_alert_in_the_readers_words_and_numbers() -> None:
    # Win rate from 40.0% to 30.0%: a fall of (0.30 - 0.40) / 0.40 = 25%.
    kpi = KpiValue("win_rate", "Win rate", "ratio", 0.30, direction="higher", change=-0.25)
    kpi.previous = 0.40
    [alert] = change_alerts([kpi], 0.2)
    assert alert.message == "Win rate fell 25%: 40.0% -> 30.0% (against the previous period)"
    with use_language("es"):
        said = alert.text.text()
    assert said == (
        f"Tasa de éxito ha bajado un 25{NBSP}%: 40,0{NBSP}% -> 30,0{NBSP}% "
        "(frente al periodo anterior)"
    )


def test_target_alert_and_target_in_the_readers_words() -> None:
    # 30.0% is below the target of at least 35.0%.
    kpi = KpiValue("win_rate", "Win rate", "ratio", 0.30, direction="higher")
    target = parse_target("win_rate", ">= 0.35", "higher")
    [alert] = target_alerts({"win_rate": kpi}, {"win_rate": target})
    assert alert.message == "Win rate 30.0% is below target >= 35.0%"
    assert kpi.target == ">= 35.0%"
    with use_language("ru"):
        assert alert.text.text() == f"Конверсия сделок 30,0{NBSP}% ниже цели >= 35,0{NBSP}%"
        assert kpi.target_words() == f">= 35,0{NBSP}%"
