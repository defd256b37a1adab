"""The report in its reader's language: message catalogs (one .po file per language in
catalogs/) and numbers, dates and digits by the language's CLDR locale (Babel).

Renderers receive a report already translated (`localize.in_report_language`: kept out of
this module so that importing `t` stays light, without the report model), and pass their own
fixed words through `t`; `format_value` of crmkpi.reporting.format reads the active locale.
"""

from crmkpi.reporting.i18n.active import active_language, number_format, t, upper, use_language
from crmkpi.reporting.i18n.catalog import LANGUAGES, Messages, is_rtl, resolve_language
from crmkpi.reporting.i18n.numbers import NumberFormat

__all__ = [
    "LANGUAGES",
    "Messages",
    "NumberFormat",
    "active_language",
    "is_rtl",
    "number_format",
    "resolve_language",
    "t",
    "upper",
    "use_language",
]
