"""The canonical tables: the one vocabulary importers write and metrics read.

Every importer produces frames with these column names and dtypes; every metric reads only these
names. A column that a file does not have is simply absent from the frame (metrics that need it
are skipped with a reason), so a canonical frame may hold any subset of its table's columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

STATUS_OPEN = "open"
STATUS_WON = "won"
STATUS_LOST = "lost"
DEAL_STATUSES = (STATUS_OPEN, STATUS_WON, STATUS_LOST)

TIMESTAMP = pl.Datetime("us")
# Labels repeat a few values over many rows: dictionary-encoded, grouping and comparing them
# reads small integers instead of hashing text. Results give them back as text.
LABEL = pl.Categorical()
DAY_US = 86_400_000_000


def days_between(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """Days from `start` to `end`; when `end` is a date without a time (read as midnight),
    whole days between the two dates. A deal created at 19:51 and closed the same date is a
    0-day deal, not one closed 19 hours before it was created (Salesforce's Age field counts
    the same way). CRMs export close dates as dates and creation as a timestamp, so an end of
    exactly 00:00:00 is taken to be a date; a start at midnight is a time like any other
    (when both are at midnight the two readings agree)."""
    dated = end.dt.time() == pl.time(0)
    whole = (end.dt.date() - start.dt.date()).dt.total_days().cast(pl.Float64)
    exact = (end - start).dt.total_microseconds() / DAY_US
    return pl.when(dated).then(whole).otherwise(exact)


@dataclass(frozen=True)
class Column:
    name: str
    dtype: pl.DataType | type[pl.DataType]
    doc: str


@dataclass(frozen=True)
class Table:
    """A canonical table. `required`: the columns a file must have to be read as this table;
    `row_required`: what each row must hold to mean anything (default: the same). Both list
    alternatives: each entry is satisfied by any one name."""

    name: str
    doc: str
    columns: tuple[Column, ...]
    required: tuple[tuple[str, ...], ...]
    row_required: tuple[tuple[str, ...], ...] | None = None

    @property
    def required_per_row(self) -> tuple[tuple[str, ...], ...]:
        return self.required if self.row_required is None else self.row_required

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def dtype(self, column: str) -> pl.DataType | type[pl.DataType]:
        return next(c.dtype for c in self.columns if c.name == column)

    def missing_required(self, present: set[str] | list[str]) -> list[tuple[str, ...]]:
        have = set(present)
        return [alts for alts in self.required if not have.intersection(alts)]


def _c(name: str, dtype: pl.DataType | type[pl.DataType], doc: str) -> Column:
    return Column(name, dtype, doc)


DEALS = Table(
    "deals",
    "One row per deal (opportunity). `status` is derived from stage semantics when absent.",
    (
        _c("id", pl.String, "Deal id as exported; unique per file"),
        _c("name", pl.String, "Deal name"),
        _c("owner", LABEL, "Sales rep who owns the deal"),
        _c("team", LABEL, "Team or region of the owner"),
        _c("source", LABEL, "Lead source / channel the deal came from"),
        _c("pipeline", LABEL, "Pipeline name when the CRM has several"),
        _c("stage", LABEL, "Current stage label"),
        _c("status", LABEL, "open, won or lost"),
        _c("amount", pl.Float64, "Deal value in `currency`"),
        _c("currency", LABEL, "ISO 4217 code of `amount`"),
        _c("probability", pl.Float64, "Win probability as a fraction 0..1"),
        _c("created_at", TIMESTAMP, "When the deal was created"),
        _c("closed_at", TIMESTAMP, "When the deal was won or lost; null while open"),
        _c("expected_close_at", TIMESTAMP, "Expected close date of an open deal"),
        _c("lost_reason", pl.String, "Why a lost deal was lost"),
        _c("customer_id", pl.String, "Account / company / customer id"),
        _c("qualification", pl.String, "Segment, tier, score band or qualification label"),
        _c("lead_id", pl.String, "Id of the lead the deal came from (a link to leads.id)"),
    ),
    # a deals file shows a date or an amount besides an id and a stage (a case or task export
    # with an Id and a Status does not); a row needs only its id and its stage
    (
        ("id", "name"),
        ("stage", "status"),
        ("created_at", "closed_at", "expected_close_at", "amount"),
    ),
    (("id", "name"), ("stage", "status")),
)

STAGE_HISTORY = Table(
    "stage_history",
    "One row per stage a deal entered (long form of the deal's path through the pipeline).",
    (
        _c("deal_id", pl.String, "Deal id, as in deals.id"),
        _c("stage", LABEL, "Stage label entered"),
        _c("entered_at", TIMESTAMP, "When the deal entered the stage"),
        _c("left_at", TIMESTAMP, "When it left the stage (optional)"),
    ),
    (("deal_id",), ("stage",), ("entered_at",)),
)

LEADS = Table(
    "leads",
    "One row per lead (contact, MQL, inquiry) before it becomes a deal.",
    (
        _c("id", pl.String, "Lead id"),
        _c("owner", LABEL, "Rep responsible for the lead"),
        _c("source", LABEL, "Lead source / channel"),
        _c("created_at", TIMESTAMP, "When the lead arrived"),
        _c("first_contact_at", TIMESTAMP, "First reply / touch by the team"),
        _c("status", LABEL, "Lead status label"),
        _c("converted", pl.Boolean, "Whether the lead became a deal or customer"),
        _c("converted_at", TIMESTAMP, "When it converted"),
        _c("qualification", pl.String, "Score band / rating / qualification label"),
        _c("customer_id", pl.String, "Customer id once converted"),
    ),
    # a leads file shows an id and something about the lead; a row needs only what names it
    (("id", "customer_id"), ("created_at", "source", "converted")),
    (("id", "customer_id", "created_at"),),
)

ACTIVITIES = Table(
    "activities",
    "Calls, e-mails, meetings and tasks logged by the team.",
    (
        _c("id", pl.String, "Activity id"),
        _c("type", LABEL, "call, email, meeting, task, ..."),
        _c("owner", LABEL, "Who did it"),
        _c("at", TIMESTAMP, "When it happened (or was due)"),
        _c("deal_id", pl.String, "Linked deal id"),
        _c("lead_id", pl.String, "Linked lead id"),
        _c("outcome", pl.String, "Result label (connected, no answer, done...)"),
        _c("success", pl.Boolean, "Outcome judged positive (derived from `outcome` when absent)"),
    ),
    (("type", "id"), ("at",)),
)

SPEND = Table(
    "spend",
    "Marketing and sales spend per channel and day or month.",
    (
        _c("date", TIMESTAMP, "Day the spend belongs to, or the first day of its period"),
        _c(
            "date_grain",
            LABEL,
            "month, quarter or year when `date` names a period (`2025-01`, `2025-Q1`); null: a day",
        ),
        _c("source", LABEL, "Channel / source, matching leads.source and deals.source"),
        _c("amount", pl.Float64, "Amount spent"),
        _c("currency", LABEL, "ISO 4217 code"),
        _c("category", LABEL, "marketing or sales"),
    ),
    (("date",), ("amount",)),
)

SUBSCRIPTIONS = Table(
    "subscriptions",
    "One row per subscription period of a customer at one MRR (a plan change starts a new row).",
    (
        _c("customer_id", pl.String, "Customer id"),
        _c(
            "subscription_id",
            pl.String,
            "Subscription id: of rows sharing one, the latest "
            "version (by updated_at, else the last row) is kept",
        ),
        _c("updated_at", TIMESTAMP, "When this version of the row was written"),
        _c("start_at", TIMESTAMP, "Start of this subscription row"),
        _c("end_at", TIMESTAMP, "End; null while active"),
        _c("mrr", pl.Float64, "Monthly recurring revenue of the row"),
        _c("currency", LABEL, "ISO 4217 code"),
        _c("plan", pl.String, "Plan name"),
        _c("churn_reason", pl.String, "Why it ended, when it ended in churn"),
        _c("churned", pl.Boolean, "Whether the customer has left (a snapshot's churn flag)"),
        _c(
            "owner",
            LABEL,
            "Owner of the account: from the file, or through customer_id the "
            "owner of the customer's latest deal",
        ),
        _c("tenure_months", pl.Float64, "Months the customer has been subscribed (snapshot)"),
        _c(
            "term_months",
            pl.Float64,
            "Length of the committed term in months (12 annual, 1 monthly): the subscription "
            "comes up for renewal at the end of each term",
        ),
    ),
    (("customer_id",), ("mrr",)),
)

NPS = Table(
    "nps",
    "Net Promoter Score survey answers.",
    (
        _c("customer_id", pl.String, "Who answered"),
        _c(
            "owner",
            LABEL,
            "Owner of the respondent's account: from the file, or through "
            "customer_id the owner of the customer's latest deal",
        ),
        _c("score", pl.Int64, "Likelihood to recommend, 0..10"),
        _c("answered_at", TIMESTAMP, "When"),
        _c("segment", pl.String, "Segment / plan / region of the respondent"),
        _c("comment", pl.String, "Free-text answer"),
    ),
    (("score",),),
)

TABLES: dict[str, Table] = {
    t.name: t for t in (DEALS, STAGE_HISTORY, LEADS, ACTIVITIES, SPEND, SUBSCRIPTIONS, NPS)
}


def empty_frame(table: str, columns: list[str] | None = None) -> pl.DataFrame:
    """An empty canonical frame with the right dtypes, for tests and for absent inputs."""
    spec = TABLES[table]
    names = columns if columns is not None else list(spec.names)
    return pl.DataFrame(schema={n: spec.dtype(n) for n in names})


def conform(table: str, frame: pl.LazyFrame) -> pl.LazyFrame:
    """Cast the canonical columns present in `frame` to their dtypes and drop unknown ones."""
    spec = TABLES[table]
    present = [n for n in spec.names if n in frame.collect_schema().names()]
    return frame.select([pl.col(n).cast(spec.dtype(n)) for n in present])
