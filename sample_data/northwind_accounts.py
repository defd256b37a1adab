"""Northwind Software after the sale: customers, plan changes, churn, NPS, activities and spend.

Builds on the pipeline drawn in northwind.py: every won new-business deal becomes a customer
whose id is the deal's company id; expansion deals upgrade the plan; the billing history, the
survey answers and the logged activities all hang off the same ids.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from northwind import (
    CHURN_HAZARD,
    CHURN_REASONS,
    NOW,
    OPEN_STAGES,
    REPS,
    START,
    WON,
    Activity,
    Company,
    Deal,
    Lead,
    Rep,
    Simulation,
    later,
    month_starts,
    pick,
    plan_for,
    working_time,
)


@dataclass
class Customer:
    id: str
    name: str
    rep: Rep
    start: date
    mrr: float
    churn_at: date | None = None
    changes: list[tuple[date, float, str]] = field(default_factory=list)


@dataclass
class SubscriptionRow:
    id: str
    customer: Customer
    plan: str
    status: str
    mrr: float
    start: date
    end: date | None
    cancel_reason: str
    change: str


@dataclass
class SpendRow:
    month: datetime
    channel: str
    category: str
    amount: float


@dataclass
class NpsAnswer:
    at: datetime
    customer: Customer
    plan: str
    score: int | None
    comment: str
    duration_minutes: float


@dataclass
class World:
    deals: list[Deal]
    leads: list[Lead]
    activities: list[Activity]
    spend: list[SpendRow]
    subscriptions: list[SubscriptionRow]
    nps: list[NpsAnswer]


ID_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
NPS_WAVES = tuple(
    datetime(y, m, 1)
    for y, m in ((2025, 7), (2025, 10), (2026, 1), (2026, 4), (2026, 7), (2026, 10))
)
PLAN_SATISFACTION = {"Starter": 7.0, "Growth": 7.8, "Business": 8.3, "Enterprise": 8.6}
COMMENTS = {
    "promoter": (
        "Great product, the reporting saves us hours every week.",
        "Support is fast and friendly.",
        "Onboarding was smooth; the team adopted it in days.",
        "Sehr zufrieden, läuft stabil.",
        "Muy buena herramienta, la recomendamos a otros equipos.",
        "Excellent, especially the forecast view.",
        "Our account manager really knows our business.",
    ),
    "passive": (
        "Good overall, but the mobile app needs work.",
        "Does the job. Pricing of the add-ons is a bit high.",
        "Solid; we miss a few integrations (e.g. with our ERP).",
        "Bien, mais l'export Excel pourrait être plus simple.",
        'Fine. "Custom fields" are limited on the Growth plan.',
        "OK; reports are slow at month end.",
    ),
    "detractor": (
        "Too expensive for what we use.",
        "Support took a week to answer; we nearly cancelled.",
        "Missing features we were promised in the sales process.",
        "Zu teuer; die Einführung hat länger gedauert als geplant.",
        "The last update broke our workflows; reporting numbers changed without notice.",
        "We barely use it anymore.\nWill review at renewal.",
    ),
}


def nps_comment(rng: random.Random, score: int | None) -> str:
    if score is None or rng.random() > 0.45:
        return ""
    band = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
    return rng.choice(COMMENTS[band])


def legacy_customers(sim: Simulation) -> list[tuple[Customer, Company]]:
    """Accounts signed before the CRM export window; they appear only in billing and NPS."""
    rng, out = sim.rng, []
    veterans = [r for r in REPS if r.joined <= START]
    for _ in range(150):
        company = sim.company(rng.random() < 0.3)
        rep = sim.rep_for(company.enterprise, START) if rng.random() < 0.9 else rng.choice(veterans)
        start = date(2023, 1, 2) + timedelta(days=rng.randint(0, 845))
        mrr = round(sim.amount(company, rep, "Organic Search") / 12, 2)
        out.append((Customer(company.id, company.name, rep, start, mrr), company))
    return out


def churn_and_downgrades(rng: random.Random, customer: Customer) -> None:
    """Month by month from the first full month after signing: churn or, rarely, a downgrade."""
    first = max(customer.start + timedelta(days=30), START.date())
    month = date(first.year, first.month, 1)
    hazard = CHURN_HAZARD[plan_for(customer.mrr)]
    hazard *= 1.6 if customer.rep.name == "Mateo Rossi" else 1
    while month < NOW.date():
        days = (date(month.year + month.month // 12, month.month % 12 + 1, 1) - month).days
        when = month + timedelta(days=rng.randrange(days))
        if when >= first and when < NOW.date():
            if rng.random() < hazard:
                customer.churn_at = when
                return
            if rng.random() < 0.004:
                customer.changes.append((when, rng.uniform(0.55, 0.8), "downgrade"))
        month += timedelta(days=days)


def expansion_deals(sim: Simulation, customer: Customer, company: Company) -> list[Deal]:
    """Upsell opportunities while the customer is active; won ones become upgrades."""
    rng, deals = sim.rng, []
    end = min(
        datetime.combine(customer.churn_at, datetime.min.time()) if customer.churn_at else NOW, NOW
    )
    t = max(datetime.combine(customer.start, datetime.min.time()) + timedelta(days=45), START)
    while True:
        t = working_time(rng, t + timedelta(days=rng.expovariate(1 / 380)))
        if t >= end:
            return deals
        amount = float(max(1_200, round(customer.mrr * 12 * rng.uniform(0.15, 0.45), -2)))
        deal = sim.deal(
            company,
            customer.rep,
            "Existing Customers",
            "Existing Business",
            t,
            amount,
            0.5 * customer.rep.win,
            pick(rng, {"High": 3, "Medium": 5}),
        )
        deals.append(deal)
        close = deal.closed_at
        if deal.stage == WON and close and close < end:
            customer.changes.append((close.date(), round(amount / 12, 2), "upgrade"))


def subscription_rows(rng: random.Random, customer: Customer) -> list[SubscriptionRow]:
    """One row per MRR level; a plan change ends one row and starts the next on the same day."""
    sub_id = "sub_" + "".join(rng.choices(ID_LETTERS, k=12))
    rows: list[SubscriptionRow] = []
    mrr, start, change = customer.mrr, customer.start, "new"
    for when, value, kind in sorted(customer.changes, key=lambda c: c[0]):
        if customer.churn_at and when >= customer.churn_at:
            break
        new_mrr = round(mrr + value if kind == "upgrade" else mrr * value, 2)
        if when > start:
            rows.append(
                SubscriptionRow(
                    sub_id, customer, plan_for(mrr), "changed", mrr, start, when, "", change
                )
            )
            start, change = when, kind
        mrr = new_mrr
    reason = pick(rng, CHURN_REASONS) if customer.churn_at else ""
    status = "cancelled" if customer.churn_at else "active"
    rows.append(
        SubscriptionRow(
            sub_id, customer, plan_for(mrr), status, mrr, start, customer.churn_at, reason, change
        )
    )
    return rows


def nps_answers(
    rng: random.Random, customers: list[Customer], rows: list[SubscriptionRow]
) -> list[NpsAnswer]:
    by_customer: dict[str, list[SubscriptionRow]] = {}
    for row in rows:
        by_customer.setdefault(row.customer.id, []).append(row)
    answers = []
    for wave in NPS_WAVES:
        sent = wave + timedelta(days=(1 - wave.weekday()) % 7)  # the first Tuesday
        for customer in customers:
            active = [
                r
                for r in by_customer[customer.id]
                if r.start <= sent.date() - timedelta(days=60)
                and (r.end is None or r.end > sent.date())
            ]
            if not active or rng.random() > 0.24:
                continue
            at = working_time(rng, sent + timedelta(days=rng.expovariate(1 / 2.5)))
            mean = PLAN_SATISFACTION[active[-1].plan]
            if customer.churn_at and (customer.churn_at - at.date()).days < 200:
                mean -= 3.2
            mean += {"Mateo Rossi": -0.7, "Amelia Novak": 0.3}.get(customer.rep.name, 0)
            score = min(10, max(0, round(rng.gauss(mean, 1.7))))
            answer_score = None if rng.random() < 0.012 else score
            duration = round(rng.lognormvariate(math.log(1.6), 0.5), 1)
            answers.append(
                NpsAnswer(
                    at,
                    customer,
                    active[-1].plan,
                    answer_score,
                    nps_comment(rng, answer_score),
                    duration,
                )
            )
    answers.sort(key=lambda a: (a.at, a.customer.id))
    return answers


SPEND_BASE = {"Paid Search": 13_500, "Social Media": 16_500, "Organic Search": 5_800,
              "Events": 3_000, "Partners": 4_200, "Referrals": 1_500}  # fmt: skip


def spend_rows(rng: random.Random) -> list[SpendRow]:
    out = []
    for index, month in enumerate(month_starts()):
        growth = 1 + 0.01 * index
        quiet = {8: 0.7, 12: 0.8}.get(month.month, 1.0)
        for channel, base in SPEND_BASE.items():
            amount = base * growth * (quiet if channel in ("Paid Search", "Social Media") else 1)
            if channel == "Events" and month.month in (3, 6, 10):
                amount += 24_000
            out.append(SpendRow(month, channel, "marketing", round(amount * rng.gauss(1, 0.06), 2)))
        out.append(SpendRow(month, "Outbound", "sales", round(9_500 * rng.gauss(1, 0.03), 2)))
        reps = sum(r.joined <= month for r in REPS)
        payroll = reps * 7_400 + rng.uniform(4_000, 9_000)  # salaries plus commissions
        out.append(SpendRow(month, "Sales team", "sales", round(payroll, 2)))
    return out


CALL_OUTCOMES = {"Connected": 35, "No answer": 40, "Left voicemail": 25}
EMAIL_OUTCOMES = {"Replied": 30, "No reply": 70}
STAGE_ACTIVITY = {
    OPEN_STAGES[0]: "call",
    OPEN_STAGES[1]: "email",
    OPEN_STAGES[2]: "meeting",
    OPEN_STAGES[3]: "meeting",
    OPEN_STAGES[4]: "email",
}


def touch(rng: random.Random, kind: str, rep: Rep, at: datetime, **ids: str) -> Activity:
    if at >= NOW:
        return Activity(kind, rep.name, at, False, "", **ids)
    if kind == "task" and rng.random() < 0.05:  # overdue, never ticked off
        return Activity(kind, rep.name, at, False, "", **ids)
    outcome = {
        "call": lambda: pick(rng, CALL_OUTCOMES),
        "email": lambda: pick(rng, EMAIL_OUTCOMES),
        "meeting": lambda: "Meeting held" if rng.random() < 0.87 else "No show",
        "task": lambda: "Completed",
    }[kind]()
    return Activity(kind, rep.name, at, True, outcome, **ids)


def lead_activities(rng: random.Random, lead: Lead) -> list[Activity]:
    if lead.first_contact_at is None:
        return []
    until = lead.converted_at or NOW
    extra = rng.choices((0, 1, 2), weights=(5, 4, 1) if lead.converted_at else (16, 3, 1))[0]
    out, t = [], lead.first_contact_at
    for number in range(1 + extra):
        if number:
            t = later(rng, t, 2, 0.6)
            if t >= until:
                break
        out.append(touch(rng, rng.choice(("call", "call", "email")), lead.rep, t, lead_id=lead.id))
    return out


def deal_activities(rng: random.Random, deal: Deal) -> list[Activity]:
    out: list[Activity] = []
    end = deal.closed_at or NOW
    for stage, at in deal.path:
        if stage in STAGE_ACTIVITY:
            out.append(touch(rng, STAGE_ACTIVITY[stage], deal.rep, at, deal_id=deal.id))
    t, weekly = deal.created_at, deal.rep.touches * 0.25
    while len(out) < 6:
        t += timedelta(days=rng.expovariate(weekly / 7))
        if t >= end:
            break
        kind = pick(rng, {"call": 4, "email": 4, "task": 2})
        out.append(touch(rng, kind, deal.rep, working_time(rng, t), deal_id=deal.id))
    if deal.closed_at is None:  # the next step, scheduled
        due = working_time(rng, NOW + timedelta(days=rng.randint(0, 13)))
        out.append(
            touch(
                rng, pick(rng, {"call": 5, "meeting": 3, "task": 2}), deal.rep, due, deal_id=deal.id
            )
        )
    return [a for a in out if a.done or a.at >= NOW - timedelta(days=60)]


def build_world() -> World:
    """The whole company, drawn in a fixed order from one seed."""
    sim = Simulation()
    leads = sim.leads()
    deals = sim.new_business(leads)
    customers: list[tuple[Customer, Company]] = legacy_customers(sim)
    for deal in sorted(deals, key=lambda d: d.created_at):
        if deal.stage == WON and deal.closed_at:
            start = min(
                deal.closed_at.date() + timedelta(days=sim.rng.randint(0, 7)),
                NOW.date() - timedelta(days=1),
            )
            mrr = round((deal.amount or 0) / 12, 2)
            customers.append(
                (Customer(deal.company.id, deal.company.name, deal.rep, start, mrr), deal.company)
            )
    for customer, company in customers:
        churn_and_downgrades(sim.rng, customer)
        deals.extend(expansion_deals(sim, customer, company))
    deals.sort(key=lambda d: (d.created_at, d.company.id))
    number = 0
    for deal in deals:
        number += sim.rng.randint(1, 9)
        deal.id = str(41_203_000 + number * 13)
    rows = [row for customer, _ in customers for row in subscription_rows(sim.rng, customer)]
    plain = [customer for customer, _ in customers]
    activities = [a for lead in leads for a in lead_activities(sim.rng, lead)]
    activities += [a for deal in deals for a in deal_activities(sim.rng, deal)]
    activities.sort(key=lambda a: (a.at, a.deal_id, a.lead_id, a.type))
    return World(
        deals=deals,
        leads=leads,
        activities=activities,
        spend=spend_rows(sim.rng),
        subscriptions=rows,
        nps=nps_answers(sim.rng, plain, rows),
    )
