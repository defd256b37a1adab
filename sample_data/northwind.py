"""Northwind Software's sales history, simulated: who sold what, when, and how it went.

Eighteen months (May 2025 to October 2026) of a B2B SaaS sales team: leads by channel, deals
walking a HubSpot pipeline, customers with plan changes and churn, and NPS waves. The texture is
deliberate so that the demo report has something to say: reps differ in win rate, deal size and
speed; Social Media spends much and converts little; deals stall in "Decision Maker Bought-In"
and "Contract Sent"; August and December are slow and quarter ends pull deals forward.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

SEED = 20261031
START = datetime(2025, 5, 1)
NOW = datetime(2026, 11, 1)  # exports taken at midnight after 2026-10-31
CLEANUP = datetime(2026, 1, 19, 10, 30)  # pipeline review that closed stale deals as lost

OPEN_STAGES = (
    "Appointment Scheduled",
    "Qualified To Buy",
    "Presentation Scheduled",
    "Decision Maker Bought-In",
    "Contract Sent",
)
WON, LOST = "Closed Won", "Closed Lost"
STAGE_PROBABILITY = dict(
    zip((*OPEN_STAGES, WON, LOST), (0.2, 0.4, 0.6, 0.8, 0.9, 1, 0), strict=True)
)
# Median days in each stage and spread; the last two have heavy tails: that is where deals stall.
STAGE_DAYS = ((4, 0.6), (7, 0.6), (9, 0.6), (15, 0.95), (13, 1.0))
NO_DECISION = "No decision / timing"
LOST_AT = (25, 25, 20, 15, 15)  # where lost deals drop out, by stage
LOST_REASONS = (
    {"Lost contact": 40, "No budget": 30, NO_DECISION: 15, "Competitor": 10, "Price": 5},
    {"No budget": 35, "Lost contact": 25, "Competitor": 15, NO_DECISION: 15, "Price": 10},
    {"Competitor": 30, "Price": 25, "No budget": 20, NO_DECISION: 15, "Lost contact": 10},
    {"Price": 30, "Competitor": 30, NO_DECISION: 30, "No budget": 10},
    {"Price": 35, NO_DECISION: 35, "Competitor": 25, "Lost contact": 5},
)


@dataclass(frozen=True)
class Rep:
    name: str
    team: str
    win: float  # multiplier on the win probability
    size: float  # multiplier on deal amount
    pace: float  # multiplier on days per stage
    response_minutes: float  # median first-response time to a new lead
    touches: float  # activities logged per week of an open deal
    joined: datetime = START


REPS = (
    Rep("Amelia Novak", "Enterprise", 1.30, 1.10, 0.85, 22, 2.0),
    Rep("Kwame Mensah", "Enterprise", 1.05, 1.30, 1.15, 45, 1.5),
    Rep("Sofia Marín", "Enterprise", 0.85, 0.95, 1.00, 70, 1.6),
    Rep("Yuki Tanaka", "Enterprise", 0.75, 0.90, 1.05, 35, 1.8, datetime(2025, 11, 3)),
    Rep("Jonas Berg", "Mid-Market", 1.25, 0.95, 0.80, 12, 2.4),
    Rep("Priya Raman", "Mid-Market", 1.00, 1.05, 0.95, 30, 1.7),
    Rep("Léa Dubois", "Mid-Market", 0.95, 1.00, 1.00, 95, 1.4),
    Rep("Mateo Rossi", "Mid-Market", 0.55, 0.85, 1.30, 190, 0.9),
)

# (share of leads, lead-to-deal conversion, win multiplier, amount multiplier, enterprise share)
SOURCES = {
    "Organic Search": (26, 0.33, 1.05, 1.00, 0.25),
    "Paid Search": (24, 0.26, 0.95, 0.95, 0.25),
    "Social Media": (22, 0.08, 0.70, 0.80, 0.15),
    "Events": (9, 0.24, 0.95, 1.30, 0.50),
    "Referrals": (8, 0.50, 1.45, 1.10, 0.30),
    "Partners": (11, 0.41, 1.20, 1.15, 0.40),
}
EVENT_MONTHS = (3, 6, 10)
SEASON = {
    1: 1.05,
    2: 1.0,
    3: 1.1,
    4: 1.0,
    5: 1.0,
    6: 0.95,
    7: 0.85,
    8: 0.62,
    9: 1.15,
    10: 1.1,
    11: 1.0,
    12: 0.7,
}
BASE_WIN = 0.27
PLAN_PRICE_FLOOR = (("Enterprise", 4000.0), ("Business", 1500.0), ("Growth", 500.0))
CHURN_HAZARD = {"Starter": 0.030, "Growth": 0.017, "Business": 0.011, "Enterprise": 0.006}
CHURN_REASONS = {"Too expensive": 28, "Switched to competitor": 22, "Missing features": 18,
                 "Low usage": 17, "Budget cuts": 10, "Company closed": 5}  # fmt: skip

NAME_HEADS = ("Bright", "North", "Silver", "Blue", "Nova", "Alpen", "Vega", "Delta", "Iber",
              "Baltic", "Lumen", "Terra", "Quant", "Helio", "Atlas", "Corvi", "Fjord", "Sol",
              "Aqua", "Orbit", "Kairos", "Brenn", "Pixel", "Verde", "Ostra", "Linde",
              "Mira")  # fmt: skip
NAME_TAILS = (
    "wave",
    "point",
    "logic",
    "data",
    "works",
    "soft",
    "line",
    "grid",
    "labs",
    "hub",
    "stack",
    "field",
    "forge",
    "metrics",
    "cloud",
    "bridge",
    "scale",
    "path",
)
LEGAL_FORMS = ("GmbH", "Ltd", "S.L.", "AB", "SAS", "B.V.", "Oy", "S.r.l.", "Sp. z o.o.", "A/S",
               "AG", "Ltd", "GmbH", "S.A.")  # fmt: skip


@dataclass
class Company:
    id: str
    name: str
    enterprise: bool


@dataclass
class Lead:
    id: str
    company: Company
    rep: Rep
    source: str
    created_at: datetime
    first_contact_at: datetime | None
    status: str
    rating: str
    converted_at: datetime | None


@dataclass
class Deal:
    company: Company
    rep: Rep
    source: str
    kind: str  # New Business / Existing Business
    created_at: datetime
    path: list[tuple[str, datetime]]
    amount: float | None
    priority: str
    lost_reason: str = ""
    expected_close_at: datetime | None = None
    id: str = ""

    @property
    def stage(self) -> str:
        return self.path[-1][0]

    @property
    def closed_at(self) -> datetime | None:
        return self.path[-1][1] if self.stage in (WON, LOST) else None

    @property
    def pipeline(self) -> str:
        return "Sales Pipeline" if self.kind == "New Business" else "Expansion"

    @property
    def name(self) -> str:
        return self.company.name if self.kind == "New Business" else f"{self.company.name} - Upsell"


@dataclass
class Activity:
    type: str
    owner: str
    at: datetime
    done: bool
    outcome: str
    deal_id: str = ""
    lead_id: str = ""


def month_starts() -> list[datetime]:
    months, m = [], START
    while m < NOW:
        months.append(m)
        m = datetime(m.year + m.month // 12, m.month % 12 + 1, 1)
    return months


def plan_for(mrr: float) -> str:
    return next((plan for plan, floor in PLAN_PRICE_FLOOR if mrr >= floor), "Starter")


def pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def working_time(rng: random.Random, day: datetime) -> datetime:
    """A moment in office hours on `day`, moved to Monday when it falls on a weekend."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    minutes = int(rng.triangular(8 * 60, 18 * 60 + 30, 11 * 60))
    return datetime(day.year, day.month, day.day) + timedelta(minutes=minutes)


def later(rng: random.Random, after: datetime, median_days: float, sigma: float) -> datetime:
    """A working-hours moment a lognormal number of days after `after` (never before it)."""
    days = rng.lognormvariate(math.log(median_days), sigma)
    moment = working_time(rng, after + timedelta(days=days))
    return moment if moment > after else after + timedelta(minutes=rng.randint(20, 240))


class Simulation:
    """Draws the whole company from one seeded generator, in a fixed order."""

    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.company_number = 0
        self.names: set[str] = set()

    def company(self, enterprise: bool) -> Company:
        rng = self.rng
        while True:
            stem = f"{rng.choice(NAME_HEADS)}{rng.choice(NAME_TAILS)}"
            name = f"{stem} {rng.choice(LEGAL_FORMS)}"
            if name in self.names:
                name = f"{stem} {rng.choice(('Group', 'Nordic', 'Iberia', 'Digital'))}"
            if name not in self.names:
                break
        self.names.add(name)
        self.company_number += rng.randint(1, 40)
        return Company(str(7_302_110_000 + self.company_number), name, enterprise)

    def rep_for(self, enterprise: bool, at: datetime) -> Rep:
        team = "Enterprise" if enterprise else "Mid-Market"
        return self.rng.choice([r for r in REPS if r.team == team and r.joined <= at])

    # Leads -----------------------------------------------------------------------------------

    def leads(self) -> list[Lead]:
        rng, out = self.rng, []
        for index, month in enumerate(month_starts()):
            end = month_starts()[index + 1] if index + 1 < len(month_starts()) else NOW
            count = round(285 * SEASON[month.month] * (1 + 0.012 * index))
            shares = {
                s: v[0] * (3 if s == "Events" and month.month in EVENT_MONTHS else 1)
                for s, v in SOURCES.items()
            }
            for _ in range(count):
                minutes = int((end - month).total_seconds() // 60)
                at = month + timedelta(minutes=rng.randrange(minutes))
                if rng.random() < 0.7:  # most inbound arrives in office hours
                    at = working_time(rng, at)
                    at = at if at < end else end - timedelta(hours=rng.randint(1, 30))
                out.append(self.lead(at.replace(second=0), pick(rng, shares)))
        out.sort(key=lambda lead: lead.created_at)
        for number, lead in enumerate(out):
            lead.id = str(104_001 + number)
        return out

    def lead(self, created: datetime, source: str) -> Lead:
        rng = self.rng
        _, convert_rate, _, _, enterprise_share = SOURCES[source]
        company = self.company(rng.random() < enterprise_share)
        rep = self.rep_for(company.enterprise, created)
        first = None
        if rng.random() > 0.05 + (0.5 if NOW - created < timedelta(days=3) else 0):
            start = created
            if created.weekday() >= 5 or not 8 <= created.hour < 18:
                start = working_time(rng, created + timedelta(hours=10)).replace(hour=8, minute=30)
                start = max(start, created)
            minutes = rng.lognormvariate(math.log(rep.response_minutes), 1.1)
            first = (start + timedelta(minutes=minutes)).replace(second=0, microsecond=0)
            first = first if first < NOW else None
        converted = None
        if first is not None and rng.random() < convert_rate:
            converted = later(rng, first, 5, 0.8)
            converted = converted if converted < NOW - timedelta(hours=1) else None
        if converted:
            status, rating = "Pre-Qualified", pick(rng, {"Hot": 45, "Warm": 40, "Cold": 15})
        elif first is None:
            status, rating = "Not Contacted", pick(rng, {"": 60, "Warm": 25, "Cold": 15})
        else:
            junk = 30 if source == "Social Media" else 8
            statuses = {"Contacted": 18, "Attempted to Contact": 14, "Contact in Future": 14}
            statuses |= {"Not Qualified": 30, "Lost Lead": 16, "Junk Lead": junk}
            status = pick(rng, statuses)  # fmt: skip
            rating = "" if status == "Junk Lead" else pick(rng, {"Hot": 8, "Warm": 40, "Cold": 52})
        return Lead("", company, rep, source, created, first, status, rating, converted)

    # Deals -----------------------------------------------------------------------------------

    def amount(self, company: Company, rep: Rep, source: str) -> float:
        median = 27_000 if company.enterprise else 8_400
        value = self.rng.lognormvariate(math.log(median * rep.size * SOURCES[source][3]), 0.5)
        return float(max(1_200, round(value, -2)))

    def deal(
        self,
        company: Company,
        rep: Rep,
        source: str,
        kind: str,
        created: datetime,
        amount: float,
        win: float,
        priority: str,
    ) -> Deal:
        rng = self.rng
        pace = rep.pace * (1.35 if company.enterprise else 1.0)
        pace *= 0.6 if kind != "New Business" else 1
        won = rng.random() < min(0.85, win)
        first = 1 if rng.random() < 0.12 else 0
        last = 4 if won else rng.choices(range(5), weights=LOST_AT)[0]
        last = max(last, first)
        stall = not won and rng.random() < 0.12 and last >= 3
        path: list[tuple[str, datetime]] = [(OPEN_STAGES[first], created)]
        stage, t = first, created
        renegotiate = stage <= 4 <= last and rng.random() < 0.07
        while True:
            median, sigma = STAGE_DAYS[stage]
            if stall and stage == last:
                break
            t = later(rng, t, median * pace, sigma)
            if stage == 4 and renegotiate:  # back to the decision maker, then a new contract
                renegotiate = False
                path.append((OPEN_STAGES[3], t))
                t = later(rng, t, 8 * pace, 0.6)
                path.append((OPEN_STAGES[4], t))
                continue
            if stage == last:
                path.append((WON if won else LOST, self.seasonal_close(t, path[-1][1], won)))
                break
            step = 2 if stage == 1 and last >= 3 and rng.random() < 0.10 else 1
            stage += step
            path.append((OPEN_STAGES[stage], t))
        planned = later(rng, created, 45 * pace, 0.4)
        if stall and path[-1][1] < CLEANUP and created < datetime(2025, 10, 1):
            path.append((LOST, CLEANUP))
        deal = Deal(company, rep, source, kind, created, [], amount, priority)
        deal.path = [(s, at) for s, at in path if at < NOW]
        if deal.stage == LOST:
            reasons = LOST_REASONS[min(last, 4)]
            deal.lost_reason = "" if rng.random() < 0.04 else pick(rng, reasons)
            if path[-1][1] == CLEANUP:
                deal.lost_reason = NO_DECISION
        elif deal.stage != WON:
            future = path[-1][1] if path[-1][1] >= NOW else planned
            if stall or rng.random() < 0.08:
                future = min(planned, NOW - timedelta(days=rng.randint(2, 25)))
            # Reps set close dates within a quarter or so, however slow the deal will turn out.
            horizon = NOW + timedelta(days=45 + created.toordinal() % 90)
            future = min(future, horizon)
            deal.expected_close_at = datetime(future.year, future.month, future.day)
            if deal.stage == OPEN_STAGES[0] and rng.random() < 0.3:
                deal.amount = None
        return deal

    def seasonal_close(self, close: datetime, previous: datetime, won: bool) -> datetime:
        """Quarter ends pull won deals forward; August and the holidays push closes out."""
        rng = self.rng
        if won and close.month in (1, 4, 7, 10) and close.day <= 20 and rng.random() < 0.4:
            quarter_end = datetime(close.year, close.month, 1) - timedelta(days=rng.randint(1, 6))
            if quarter_end.month == 12:
                quarter_end = datetime(quarter_end.year, 12, rng.randint(15, 22))
            moved = working_time(rng, quarter_end)
            if moved > previous + timedelta(hours=2):
                return moved
        if close.month == 8 and close.day <= 24 and rng.random() < 0.45:
            return working_time(rng, datetime(close.year, 9, rng.randint(1, 12)))
        if (close.month, close.day) >= (12, 23) or (close.month == 1 and close.day <= 5):
            year = close.year + (close.month == 12)
            return working_time(rng, datetime(year, 1, rng.randint(6, 14)))
        return close

    def new_business(self, leads: list[Lead]) -> list[Deal]:
        rng, deals = self.rng, []
        for lead in leads:
            if lead.converted_at is None:
                continue
            created = lead.converted_at + timedelta(minutes=rng.randint(2, 40))
            _, _, source_win, _, _ = SOURCES[lead.source]
            rating = {"Hot": 1.25, "Warm": 1.0, "Cold": 0.7}[lead.rating]
            priority = {"Hot": "High", "Warm": "Medium", "Cold": "Low"}[lead.rating]
            win = BASE_WIN * source_win * lead.rep.win * rating
            amount = self.amount(lead.company, lead.rep, lead.source)
            deals.append(
                self.deal(
                    lead.company,
                    lead.rep,
                    lead.source,
                    "New Business",
                    created,
                    amount,
                    win,
                    priority,
                )
            )
        for month in month_starts():  # outbound prospecting, no lead behind it
            for _ in range(rng.randint(9, 15)):
                company = self.company(rng.random() < 0.45)
                created = working_time(rng, month + timedelta(days=rng.randint(0, 27)))
                rep = self.rep_for(company.enterprise, created)
                amount = self.amount(company, rep, "Paid Search")
                win = BASE_WIN * 0.75 * rep.win
                deals.append(
                    self.deal(
                        company,
                        rep,
                        "Outbound",
                        "New Business",
                        created,
                        amount,
                        win,
                        pick(rng, {"High": 2, "Medium": 5, "Low": 3}),
                    )
                )
        return [d for d in deals if d.created_at < NOW]
