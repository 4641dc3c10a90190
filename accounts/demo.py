"""Deterministic demo data: users for every role and a believable book of customers.

Everything is drawn from one `random.Random(seed)` and anchored on one `today`, so the same
seed gives the same accounts, contracts and timeline on every machine. Rows are written
with bulk_create in chunks of accounts, then the account figures are refreshed once,
set-based, so 20,000 accounts take seconds rather than minutes.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import services
from accounts.choices import (
    AccountStatus,
    ActivityKind,
    BillingPeriod,
    BusinessModel,
    DiscountType,
    GoalStatus,
    LifecycleStage,
    PowerRole,
    SubscriptionStatus,
    TaskKind,
    TaskPriority,
    TaskStatus,
    Tier,
    TouchModel,
)
from accounts.models import (
    Account,
    Activity,
    Contact,
    Goal,
    GoalRevision,
    Subscription,
    Tag,
    Task,
)
from csplatform.choices import Role
from csplatform.models import User
from csplatform.services import user_create

# Sent after the demo accounts are written, inside the same transaction, so that later apps
# (metrics, health, renewals ...) can add their own demo rows for these accounts without
# accounts importing them. Arguments: account_ids, seed, today.
demo_seeded = Signal()

# Accounts built and written per round: keeps memory flat and the progress bar moving.
CHUNK = 1000
# Rows per INSERT. Django lowers it further on SQLite to stay under its variable limit.
BATCH = 1000
EXTERNAL_ID_PREFIX = "DEMO-"


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: Role
    first_name: str
    last_name: str
    password: str

    @property
    def email(self) -> str:
        return f"{self.username}@demo.csplatform.example"


DEMO_USERS = (
    DemoUser("alice", Role.CSM, "Alice", "Andersen", "alice-demo-2024"),
    DemoUser("bob", Role.CSM, "Bob", "Brennan", "bob-demo-2024"),
    DemoUser("lead", Role.CS_LEAD, "Lena", "Lindqvist", "lead-demo-2024"),
    DemoUser("admin", Role.ADMIN, "Ada", "Admin", "admin-demo-2024"),
    DemoUser("vic", Role.VIEWER, "Vic", "Varga", "vic-demo-2024"),
)


@dataclass
class DemoUserResult:
    user: User
    spec: DemoUser
    created: bool
    password_is_demo: bool


def demo_users_ensure() -> list[DemoUserResult]:
    """Create the demo users that are missing; never touch a password someone changed."""
    results = []
    for spec in DEMO_USERS:
        user = User.objects.filter(username=spec.username).first()
        created = user is None
        if user is None:
            user = user_create(
                username=spec.username,
                role=spec.role,
                password=spec.password,
                email=spec.email,
                first_name=spec.first_name,
                last_name=spec.last_name,
            )
            password_is_demo = True
        else:
            password_is_demo = user.check_password(spec.password)
        results.append(DemoUserResult(user, spec, created, password_is_demo))
    return results


# Vocabulary ----------------------------------------------------------------------------

_PREFIXES = (
    "Acme",
    "Blue",
    "North",
    "Silver",
    "Bright",
    "Summit",
    "Vertex",
    "Harbor",
    "Granite",
    "Nimbus",
    "Quantum",
    "Cedar",
    "Atlas",
    "Pioneer",
    "Evergreen",
    "Crimson",
    "Polar",
    "Lumen",
    "Apex",
    "Orbit",
    "Iron",
    "Golden",
    "Red",
    "Green",
    "Swift",
    "Clear",
    "True",
    "Open",
    "Deep",
    "High",
    "Wild",
    "Stellar",
    "Nova",
    "Zen",
    "Arc",
    "Bold",
    "Coral",
    "Echo",
    "Falcon",
    "Maple",
)
_STEMS = (
    "peak",
    "bridge",
    "wave",
    "forge",
    "field",
    "path",
    "stone",
    "point",
    "leaf",
    "works",
    "gate",
    "light",
    "river",
    "wind",
    "rock",
    "star",
    "line",
    "grid",
    "loop",
    "craft",
    "hive",
    "spark",
    "view",
    "ridge",
    "mark",
    "port",
    "shore",
    "bay",
    "well",
    "wood",
)
_INDUSTRIES = (
    # industry, weight, words that end a company name in it
    ("Software", 22, ("Software", "Labs", "Systems", "Cloud", "Technologies")),
    ("Financial services", 10, ("Capital", "Finance", "Payments", "Bank")),
    ("Healthcare", 9, ("Health", "Medical", "Care", "Clinics")),
    ("Retail", 9, ("Retail", "Stores", "Commerce", "Outfitters")),
    ("Manufacturing", 8, ("Manufacturing", "Industries", "Components", "Robotics")),
    ("Education", 6, ("Learning", "Academy", "Education")),
    ("Logistics", 7, ("Logistics", "Freight", "Shipping")),
    ("Media", 6, ("Media", "Studios", "Publishing")),
    ("Insurance", 5, ("Insurance", "Assurance", "Mutual")),
    ("Telecommunications", 4, ("Telecom", "Networks", "Connect")),
    ("Energy", 4, ("Energy", "Power", "Renewables")),
    ("Travel & hospitality", 4, ("Travel", "Hotels", "Hospitality")),
    ("Real estate", 3, ("Properties", "Realty", "Estates")),
    ("Non-profit", 3, ("Foundation", "Trust", "Alliance")),
)
_COUNTRIES = (
    # country, weight, currency, company-form suffixes, domain ending
    ("US", 38, "USD", ("Inc.", "LLC", "Corp.", ""), ".com"),
    ("GB", 15, "GBP", ("Ltd", "plc", ""), ".co.uk"),
    ("DE", 10, "EUR", ("GmbH", "AG"), ".de"),
    ("FR", 6, "EUR", ("SAS", "SA"), ".fr"),
    ("NL", 5, "EUR", ("B.V.", ""), ".nl"),
    ("IE", 3, "EUR", ("Ltd", ""), ".ie"),
    ("ES", 3, "EUR", ("S.L.", "S.A."), ".es"),
    ("IT", 2, "EUR", ("S.p.A.", "S.r.l."), ".it"),
    ("SE", 3, "EUR", ("AB",), ".se"),
    ("CA", 6, "CAD", ("Inc.", "Ltd"), ".ca"),
    ("AU", 4, "AUD", ("Pty Ltd",), ".com.au"),
    ("SG", 3, "USD", ("Pte. Ltd.",), ".sg"),
    ("JP", 2, "USD", ("K.K.",), ".jp"),
)
_FIRST_NAMES = (
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Nancy",
    "Matthew",
    "Lisa",
    "Anthony",
    "Sophie",
    "Mark",
    "Emma",
    "Paul",
    "Olivia",
    "Lukas",
    "Hannah",
    "Pierre",
    "Camille",
    "Sven",
    "Ingrid",
    "Marco",
    "Giulia",
    "Pablo",
    "Lucia",
    "Aoife",
    "Sean",
    "Priya",
    "Arjun",
    "Mei",
    "Hiroshi",
    "Yuki",
    "Noah",
    "Mia",
    "Liam",
    "Chloe",
    "Ethan",
    "Zoe",
    "Omar",
    "Leila",
    "Kwame",
    "Amara",
)
_LAST_NAMES = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Martinez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
    "Hall",
    "Young",
    "King",
    "Wright",
    "Müller",
    "Schmidt",
    "Schneider",
    "Dubois",
    "Laurent",
    "Rossi",
    "Bianchi",
    "Fernández",
    "van Dijk",
    "de Vries",
    "Johansson",
    "Nilsson",
    "O'Brien",
    "Murphy",
    "Patel",
    "Sharma",
    "Tanaka",
    "Suzuki",
    "Chen",
    "Wang",
    "Nguyen",
    "Okafor",
    "Mensah",
    "Haddad",
    "Kowalski",
)
_ROLE_TITLES = {
    PowerRole.EXECUTIVE_SPONSOR: (("Chief Operating Officer", "Executive"), ("VP Operations", "Operations"), ("Chief Technology Officer", "Engineering"), ("Chief Revenue Officer", "Sales")),
    PowerRole.DECISION_MAKER: (("Director of Operations", "Operations"), ("Head of IT", "IT"), ("Director of Customer Experience", "Customer Experience"), ("Head of Procurement", "Procurement")),
    PowerRole.CHAMPION: (("Operations Manager", "Operations"), ("Product Manager", "Product"), ("Team Lead", "Support"), ("Marketing Operations Manager", "Marketing")),
    PowerRole.INFLUENCER: (("Senior Analyst", "Finance"), ("Solutions Architect", "IT"), ("Project Manager", "PMO")),
    PowerRole.USER: (("Analyst", "Operations"), ("Specialist", "Support"), ("Coordinator", "Sales"), ("Engineer", "Engineering")),
    PowerRole.DETRACTOR: (("IT Security Lead", "IT"), ("Finance Controller", "Finance")),
}  # fmt: skip
_PLANS = (
    # plan, list price per seat per month in the account's currency
    ("Starter", Decimal("15")),
    ("Growth", Decimal("35")),
    ("Business", Decimal("60")),
    ("Enterprise", Decimal("95")),
)
_ADDONS = (
    ("Analytics add-on", Decimal("8")),
    ("Premium support", Decimal("12")),
    ("Automation pack", Decimal("10")),
)
_TAGS = ("strategic", "beta", "reference", "case-study", "expansion", "exec-watch")
_GOALS = (
    ("Cut onboarding time for new hires", "Days to productivity", "from 30 to 14 days"),
    ("Roll out to every regional team", "Active teams", "12 of 12 teams"),
    ("Reduce support backlog", "Open tickets", "below 50"),
    ("Replace legacy spreadsheet reporting", "Reports automated", "100%"),
    ("Improve customer retention", "Gross retention", "95%"),
    ("Increase weekly active usage", "WAU / licensed seats", "70%"),
    ("Consolidate tooling", "Tools retired", "3 tools"),
    ("Faster quote-to-cash", "Days to invoice", "under 5 days"),
)
_ACTIVITY_SUBJECTS = {
    ActivityKind.CALL: ("Check-in call", "Adoption review call", "Escalation call", "Renewal call"),
    ActivityKind.MEETING: ("Workshop: reporting set-up", "Admin training", "Roadmap session", "Kick-off meeting"),
    ActivityKind.EMAIL: ("Sent release notes", "Shared best-practice guide", "Followed up on open ticket", "Sent usage summary"),
    ActivityKind.NOTE: ("Champion is changing roles", "Budget cycle starts in Q3", "Asked about SSO", "Positive feedback on new dashboard"),
    ActivityKind.QBR: ("Quarterly business review", "Executive business review"),
}  # fmt: skip
_TASKS = (
    ("Schedule quarterly business review", TaskKind.MEETING),
    ("Follow up on support escalation", TaskKind.FOLLOW_UP),
    ("Prepare renewal proposal", TaskKind.RENEWAL),
    ("Check adoption of new reporting module", TaskKind.REVIEW),
    ("Call champion about expansion", TaskKind.CALL),
    ("Send onboarding checklist", TaskKind.ONBOARDING),
    ("Review usage drop", TaskKind.RISK),
    ("Email executive sponsor recap", TaskKind.EMAIL),
)
_PERIODS = (
    # billing period, weight, N months for "every N months"
    (BillingPeriod.MONTHLY, 30, None),
    (BillingPeriod.QUARTERLY, 15, None),
    (BillingPeriod.SEMI_ANNUAL, 10, None),
    (BillingPeriod.ANNUAL, 38, None),
    (BillingPeriod.CUSTOM, 7, None),
)
_CUSTOM_MONTHS = (2, 18, 24)


def _weighted(rng: random.Random, items: tuple, weight_index: int = 1):
    return rng.choices(items, weights=[i[weight_index] for i in items])[0]


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _at(day: dt.date, rng: random.Random) -> dt.datetime:
    """An aware datetime during office hours on `day`."""
    return dt.datetime.combine(
        day, dt.time(rng.randint(8, 17), rng.choice((0, 15, 30, 45))), tzinfo=dt.UTC
    )


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


# Builder -------------------------------------------------------------------------------


@dataclass
class _Batch:
    accounts: list[Account] = field(default_factory=list)
    plans: list[dict] = field(default_factory=list)


@dataclass
class DemoResult:
    accounts: int = 0
    contacts: int = 0
    subscriptions: int = 0
    activities: int = 0
    tasks: int = 0
    goals: int = 0


class DemoBuilder:
    def __init__(self, *, seed: int, today: dt.date, owners: list[User | None], lead: User | None):
        self.rng = random.Random(seed)
        self.today = today
        self.owners = owners
        self.lead = lead
        self.used_names: set[str] = set(Account.objects.values_list("name", flat=True))

    # Accounts ---------------------------------------------------------------------------

    def _company(self) -> tuple[str, str, str, str, str]:
        rng = self.rng
        industry, _w, words = _weighted(rng, _INDUSTRIES)
        country, _w, currency, forms, tld = _weighted(rng, _COUNTRIES)
        for attempt in range(20):
            base = f"{rng.choice(_PREFIXES)}{rng.choice(_STEMS)} {rng.choice(words)}"
            if attempt >= 10:
                base = f"{base} {rng.choice(('Group', 'Holdings', 'International', 'Partners'))}"
            if base not in self.used_names:
                break
        else:
            base = f"{base} {len(self.used_names)}"
        self.used_names.add(base)
        form = rng.choice(forms)
        name = f"{base} {form}".strip()
        domain = "".join(base.split()[:2]).lower() + tld
        return name, domain, industry, country, currency

    def account(self, index: int) -> tuple[Account, dict]:
        rng, today = self.rng, self.today
        name, domain, industry, country, currency = self._company()
        tier = _weighted(rng, ((Tier.ENTERPRISE, 14), (Tier.MID_MARKET, 36), (Tier.SMB, 50)))[0]
        touch = {
            Tier.ENTERPRISE: TouchModel.HIGH,
            Tier.MID_MARKET: rng.choice((TouchModel.HIGH, TouchModel.LOW, TouchModel.LOW)),
            Tier.SMB: rng.choice((TouchModel.LOW, TouchModel.TECH, TouchModel.TECH)),
        }[tier]
        roll = rng.random()
        status = (
            AccountStatus.TRIAL
            if roll < 0.07
            else AccountStatus.CHURNED
            if roll < 0.16
            else AccountStatus.ACTIVE
        )
        customer_since: dt.date | None = today - dt.timedelta(days=rng.randint(1, 4 * 365))
        churned_at = None
        if status == AccountStatus.TRIAL:
            trial_start = today - dt.timedelta(days=rng.randint(0, 25))
            customer_since = None
            stage = LifecycleStage.ONBOARDING
        elif status == AccountStatus.CHURNED:
            customer_since = today - dt.timedelta(days=rng.randint(200, 4 * 365))
            churned_at = customer_since + dt.timedelta(
                days=rng.randint(90, (today - customer_since).days - 1)
            )
            stage = LifecycleStage.CHURNED
        else:
            tenure = (today - customer_since).days
            stage = (
                LifecycleStage.ONBOARDING
                if tenure < 60
                else rng.choice(
                    (LifecycleStage.ADOPTION, LifecycleStage.ADOPTION, LifecycleStage.GROWTH)
                )
            )
        owner = rng.choices(self.owners, weights=[45, 44, 11][: len(self.owners)])[0]
        acc = Account(
            name=name,
            external_id=f"{EXTERNAL_ID_PREFIX}{index:06d}",
            domain=domain,
            industry=industry,
            country=country,
            currency=currency,
            tier=tier,
            touch_model=touch,
            business_model=BusinessModel.B2C if rng.random() < 0.12 else BusinessModel.B2B,
            lifecycle_stage=stage,
            status=status,
            customer_since=customer_since,
            churned_at=churned_at,
            owner=owner,
            years_in_business=rng.choice((1, 2, 3, 4, 6, 8, 12, 15, 20, 25, 40, 60)),
            single_decision_maker=tier == Tier.SMB and rng.random() < 0.35,
            custom_fields={
                "region": {"US": "NA", "CA": "NA", "AU": "APAC", "SG": "APAC", "JP": "APAC"}.get(
                    country, "EMEA"
                ),
                "crm_segment": str(tier.value),
            },
        )
        plan = {"status": status, "tier": tier}
        if status == AccountStatus.TRIAL:
            plan["trial_start"] = trial_start
        return acc, plan

    # Children ---------------------------------------------------------------------------

    def contacts(self, acc: Account) -> list[Contact]:
        rng = self.rng
        lo, hi = {Tier.ENTERPRISE: (4, 8), Tier.MID_MARKET: (3, 5), Tier.SMB: (1, 3)}[acc.tier]
        roles: list[PowerRole] = []
        if acc.tier == Tier.ENTERPRISE:
            roles.append(PowerRole.EXECUTIVE_SPONSOR)
        roles.append(PowerRole.DECISION_MAKER if acc.tier != Tier.SMB else PowerRole.CHAMPION)
        pool = (
            PowerRole.CHAMPION,
            PowerRole.INFLUENCER,
            PowerRole.USER,
            PowerRole.USER,
            PowerRole.DETRACTOR,
        )
        while len(roles) < rng.randint(lo, hi):
            roles.append(rng.choice(pool))
        primary = 1 if acc.tier == Tier.ENTERPRISE and len(roles) > 1 else 0
        domain = acc.domain.split("/")[0]
        out, emails = [], set()
        for i, role in enumerate(roles):
            first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
            local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
            email = f"{local}@{domain}"
            n = 2
            while email in emails:
                email = f"{local}{n}@{domain}"
                n += 1
            emails.add(email)
            title, department = rng.choice(_ROLE_TITLES[role])
            last_contacted = (
                _at(self.today - dt.timedelta(days=rng.randint(0, 120)), rng)
                if rng.random() < 0.7
                else None
            )
            out.append(
                Contact(
                    account=acc,
                    first_name=first,
                    last_name=last,
                    email=email,
                    phone=f"+{rng.randint(1, 49)} {rng.randint(200, 999)} {rng.randint(1000000, 9999999)}",
                    title=title,
                    department=department,
                    power_role=role,
                    is_primary=i == primary,
                    birthday=dt.date(
                        rng.randint(1965, 1998), rng.randint(1, 12), rng.randint(1, 28)
                    )
                    if rng.random() < 0.3
                    else None,
                    last_contacted_at=last_contacted,
                )
            )
        return out

    def _period(self, force: int | None) -> tuple[str, int]:
        if force is not None:
            period = _PERIODS[force % len(_PERIODS)][0]
        else:
            period = _weighted(self.rng, _PERIODS)[0]
        if period == BillingPeriod.CUSTOM:
            return period, self.rng.choice(_CUSTOM_MONTHS)
        return period, BillingPeriod(period).months or 1

    def _line(
        self,
        acc: Account,
        *,
        plan_name: str,
        product: str,
        seat_price: Decimal,
        quantity: int,
        period: str,
        months: int,
        start: dt.date,
        end: dt.date | None,
        status: str,
    ) -> Subscription:
        rng = self.rng
        unit_price = _money(seat_price * months)
        gross = unit_price * quantity
        roll = rng.random()
        if roll < 0.3:
            discount_type, discount_value = (
                DiscountType.PERCENT,
                Decimal(rng.choice((5, 10, 15, 20, 25))),
            )
        elif roll < 0.42:
            discount_type = DiscountType.AMOUNT
            discount_value = _money(
                gross * Decimal(rng.choice((5, 8, 10))) / 100
            ).to_integral_value()
        else:
            discount_type, discount_value = DiscountType.NONE, Decimal("0")
        fees = (
            Decimal(rng.choice((500, 1500, 2500, 5000, 12000)))
            if rng.random() < 0.2
            else Decimal("0")
        )
        return Subscription(
            account=acc,
            plan_name=plan_name,
            product=product,
            quantity=quantity,
            unit_price=unit_price,
            discount_type=discount_type,
            discount_value=discount_value,
            billing_period=period,
            billing_period_months=months,
            currency=acc.currency,
            one_time_fees=fees,
            signed_on=start - dt.timedelta(days=rng.randint(3, 30)),
            start_date=start,
            end_date=end,
            notice_period_days=rng.choice((30, 30, 30, 60, 90)),
            auto_renew=rng.random() < 0.8,
            status=status,
        )

    def subscriptions(
        self, acc: Account, plan: dict, force_period: int | None
    ) -> list[Subscription]:
        rng, today = self.rng, self.today
        tier = plan["tier"]
        plan_index = {
            Tier.ENTERPRISE: rng.choice((2, 3, 3)),
            Tier.MID_MARKET: rng.choice((1, 2, 2)),
            Tier.SMB: rng.choice((0, 0, 1)),
        }[tier]
        plan_name, seat_price = _PLANS[plan_index]
        quantity = {
            Tier.ENTERPRISE: rng.randint(100, 800),
            Tier.MID_MARKET: rng.randint(25, 200),
            Tier.SMB: rng.randint(3, 30),
        }[tier]
        period, months = self._period(force_period)
        term = max(12, months)
        status = plan["status"]
        out: list[Subscription] = []
        if status == AccountStatus.TRIAL:
            start = plan["trial_start"]
            end = start + dt.timedelta(days=30)
            out.append(
                self._line(acc, plan_name=plan_name, product="Platform", seat_price=seat_price,
                           quantity=min(quantity, 10), period=period, months=months, start=start,
                           end=end, status=SubscriptionStatus.TRIAL)
            )  # fmt: skip
            return out
        if status == AccountStatus.CHURNED:
            end = acc.churned_at
            start = max(acc.customer_since, add_months(end, -term))
            out.append(
                self._line(acc, plan_name=plan_name, product="Platform", seat_price=seat_price,
                           quantity=quantity, period=period, months=months, start=start, end=end,
                           status=rng.choice((SubscriptionStatus.CANCELLED, SubscriptionStatus.EXPIRED)))
            )  # fmt: skip
            return out
        # Active: the current term runs from the last contract anniversary to the next one,
        # so renewal dates spread evenly over the coming year.
        since = acc.customer_since
        terms_done = 0
        while add_months(since, (terms_done + 1) * term) <= today:
            terms_done += 1
        start = add_months(since, terms_done * term)
        end = add_months(since, (terms_done + 1) * term)
        out.append(
            self._line(acc, plan_name=plan_name, product="Platform", seat_price=seat_price,
                       quantity=quantity, period=period, months=months, start=start, end=end,
                       status=SubscriptionStatus.ACTIVE)
        )  # fmt: skip
        if terms_done and rng.random() < 0.25:
            # The previous term, with fewer seats: history for expansion figures.
            prev_start = add_months(since, (terms_done - 1) * term)
            out.append(
                self._line(acc, plan_name=plan_name, product="Platform", seat_price=seat_price,
                           quantity=max(1, int(quantity * rng.uniform(0.6, 0.95))), period=period,
                           months=months, start=prev_start, end=start - dt.timedelta(days=1),
                           status=SubscriptionStatus.EXPIRED)
            )  # fmt: skip
        if tier != Tier.SMB and rng.random() < 0.45:
            addon, addon_price = rng.choice(_ADDONS)
            addon_start = min(today, start + dt.timedelta(days=rng.randint(0, 120)))
            out.append(
                self._line(acc, plan_name=plan_name, product=addon, seat_price=addon_price,
                           quantity=max(1, quantity // rng.choice((1, 2, 4))), period=period,
                           months=months, start=addon_start, end=end,
                           status=SubscriptionStatus.ACTIVE)
            )  # fmt: skip
        return out

    def activities(self, acc: Account, contacts: list[Contact]) -> list[tuple[Activity, list]]:
        rng, today = self.rng, self.today
        out: list[tuple[Activity, list]] = []
        start = acc.customer_since or (today - dt.timedelta(days=rng.randint(0, 25)))
        out.append(
            (
                Activity(
                    account=acc,
                    kind=ActivityKind.SYSTEM,
                    author=None,
                    occurred_at=_at(start, rng),
                    subject=_("Account created"),
                    source="accounts",
                ),
                [],
            )
        )
        end = acc.churned_at or today
        span = max(1, min(240, (end - start).days))
        count = {Tier.ENTERPRISE: 10, Tier.MID_MARKET: 6, Tier.SMB: 3}[acc.tier]
        kinds = (ActivityKind.CALL, ActivityKind.MEETING, ActivityKind.EMAIL, ActivityKind.NOTE)
        for _i in range(rng.randint(count // 2, count)):
            kind = rng.choice(kinds)
            if acc.tier == Tier.ENTERPRISE and rng.random() < 0.12:
                kind = ActivityKind.QBR
            day = end - dt.timedelta(days=rng.randint(0, span))
            involved = rng.sample(contacts, k=min(len(contacts), rng.randint(0, 2)))
            out.append(
                (
                    Activity(
                        account=acc,
                        kind=kind,
                        author=acc.owner,
                        occurred_at=_at(day, rng),
                        subject=rng.choice(_ACTIVITY_SUBJECTS[kind]),
                        summary=rng.choice(
                            (
                                "",
                                "Customer is happy with the rollout so far.",
                                "Raised concerns about report performance; followed up with support.",
                                "Agreed next steps and owners.",
                                "Discussed adding seats for the new team.",
                            )
                        ),
                    ),
                    [c for c in involved if kind != ActivityKind.NOTE],
                )
            )
        if acc.status == AccountStatus.CHURNED:
            out.append(
                (
                    Activity(
                        account=acc,
                        kind=ActivityKind.SYSTEM,
                        occurred_at=_at(acc.churned_at, rng),
                        subject=_("Account churned"),
                        source="accounts",
                    ),
                    [],
                )
            )
        return out

    def tasks(self, acc: Account) -> list[Task]:
        rng, today = self.rng, self.today
        if acc.status == AccountStatus.CHURNED:
            return []
        assignee = acc.owner or (self.lead if rng.random() < 0.5 else None)
        out = []
        for _i in range(rng.randint(0, 3)):
            title, kind = rng.choice(_TASKS)
            roll = rng.random()
            if roll < 0.25:
                due = today - dt.timedelta(days=rng.randint(1, 21))  # overdue
            elif roll < 0.4:
                due = today
            else:
                due = today + dt.timedelta(days=rng.randint(1, 45))
            out.append(
                Task(
                    account=acc,
                    title=title,
                    kind=kind,
                    priority=_weighted(
                        rng,
                        (
                            (TaskPriority.LOW, 2),
                            (TaskPriority.NORMAL, 6),
                            (TaskPriority.HIGH, 2),
                            (TaskPriority.URGENT, 1),
                        ),
                    )[0],
                    status=TaskStatus.OPEN,
                    due_date=due,
                    assignee=assignee,
                    created_by=assignee,
                )
            )
        if rng.random() < 0.5:
            title, kind = rng.choice(_TASKS)
            done_on = today - dt.timedelta(days=rng.randint(1, 90))
            out.append(
                Task(
                    account=acc,
                    title=title,
                    kind=kind,
                    status=TaskStatus.DONE,
                    due_date=done_on,
                    completed_at=_at(done_on, rng),
                    outcome=rng.choice(("Done", "Customer confirmed", "Resolved on the call")),
                    assignee=assignee,
                    created_by=assignee,
                )
            )
        return out

    def goals(self, acc: Account) -> list[Goal]:
        rng, today = self.rng, self.today
        if acc.status != AccountStatus.ACTIVE:
            return []
        picks = rng.sample(_GOALS, k=rng.randint(0, 3 if acc.tier != Tier.SMB else 1))
        return [
            Goal(
                account=acc,
                title=title,
                kpi=kpi,
                target=target,
                status=_weighted(
                    rng,
                    (
                        (GoalStatus.NOT_STARTED, 2),
                        (GoalStatus.ON_TRACK, 5),
                        (GoalStatus.AT_RISK, 2),
                        (GoalStatus.ACHIEVED, 2),
                        (GoalStatus.MISSED, 1),
                    ),
                )[0],
                due_date=today + dt.timedelta(days=rng.randint(-60, 270)),
            )
            for title, kpi, target in picks
        ]


def demo_accounts_create(
    *,
    accounts: int,
    seed: int = 42,
    today: dt.date | None = None,
    progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """Write `accounts` demo accounts with their contacts, contracts, timeline, tasks, goals.

    Demo users must exist (demo_users_ensure). Accounts already present are kept; new demo
    external ids continue after the highest one, and the random stream is offset by the
    number already there, so a second run adds different accounts.
    """
    today = today or timezone.localdate()
    users = {u.username: u for u in User.objects.filter(username__in=["alice", "bob", "lead"])}
    owners: list[User | None] = [users.get("alice"), users.get("bob"), None]
    offset = Account.objects.filter(external_id__startswith=EXTERNAL_ID_PREFIX).count()
    builder = DemoBuilder(
        seed=seed if not offset else seed * 1_000_003 + offset,
        today=today,
        owners=owners,
        lead=users.get("lead"),
    )
    result = DemoResult()
    all_ids: list[int] = []
    with transaction.atomic():
        tags = _tags_ensure()
        done = 0
        while done < accounts:
            size = min(CHUNK, accounts - done)
            all_ids += _chunk_write(builder, offset + done, size, tags, result)
            done += size
            if progress:
                progress(size)
        services.account_financials_refresh(today=today)
        _stages_from_renewals(all_ids, today)
        demo_seeded.send(sender=Account, account_ids=all_ids, seed=seed, today=today)
    result.accounts = len(all_ids)
    return result


def _tags_ensure() -> list[Tag]:
    Tag.objects.bulk_create([Tag(name=n) for n in _TAGS], ignore_conflicts=True)
    return list(Tag.objects.filter(name__in=_TAGS).order_by("name"))


def _chunk_write(
    builder: DemoBuilder, first_index: int, size: int, tags: list[Tag], result: DemoResult
) -> list[int]:
    rng = builder.rng
    pairs = [builder.account(first_index + i + 1) for i in range(size)]
    accounts = Account.objects.bulk_create([a for a, _p in pairs], batch_size=BATCH)
    tag_links = []
    for acc in accounts:
        for tag in rng.sample(tags, k=rng.choice((0, 0, 0, 1, 1, 2))):
            tag_links.append(Account.tags.through(account_id=acc.pk, tag_id=tag.pk))
    Account.tags.through.objects.bulk_create(tag_links, batch_size=BATCH)

    contacts_by_account = {}
    all_contacts: list[Contact] = []
    for acc in accounts:
        cs = builder.contacts(acc)
        contacts_by_account[acc.pk] = cs
        all_contacts += cs
    Contact.objects.bulk_create(all_contacts, batch_size=BATCH)

    subs: list[Subscription] = []
    for i, (acc, plan) in enumerate(zip(accounts, (p for _a, p in pairs), strict=True)):
        # The first few demo accounts cycle through every billing period, so even a tiny
        # demo shows each one.
        index = first_index + i
        subs += builder.subscriptions(acc, plan, index if index < len(_PERIODS) else None)
    # MRR is computed by the service; account figures are refreshed once at the end.
    for sub in subs:
        services._subscription_prepare(sub)
    Subscription.objects.bulk_create(subs, batch_size=BATCH)

    activity_pairs = []
    for acc in accounts:
        activity_pairs += builder.activities(acc, contacts_by_account[acc.pk])
    activities = Activity.objects.bulk_create([a for a, _c in activity_pairs], batch_size=BATCH)
    links = [
        Activity.contacts.through(activity_id=a.pk, contact_id=c.pk)
        for a, (_a, cs) in zip(activities, activity_pairs, strict=True)
        for c in cs
    ]
    Activity.contacts.through.objects.bulk_create(links, batch_size=BATCH)

    tasks = [t for acc in accounts for t in builder.tasks(acc)]
    Task.objects.bulk_create(tasks, batch_size=BATCH)
    goals = Goal.objects.bulk_create(
        [g for acc in accounts for g in builder.goals(acc)], batch_size=BATCH
    )
    GoalRevision.objects.bulk_create(
        [
            GoalRevision(
                goal_id=g.pk,
                author=g.account.owner,
                changed_at=_at(builder.today - dt.timedelta(days=rng.randint(20, 200)), rng),
                status=g.status,
                target=g.target,
                note=_("Agreed at kick-off"),
            )
            for g in goals
        ],
        batch_size=BATCH,
    )
    result.contacts += len(all_contacts)
    result.subscriptions += len(subs)
    result.activities += len(activities)
    result.tasks += len(tasks)
    result.goals += len(goals)
    return [a.pk for a in accounts]


def _stages_from_renewals(account_ids: list[int], today: dt.date) -> None:
    """Active accounts whose renewal falls within 90 days are in the renewal stage."""
    if not account_ids:
        return
    # A pk range rather than IN (...): 20,000 ids would pass SQLite's variable limit.
    Account.objects.filter(
        pk__range=(min(account_ids), max(account_ids)),
        status=AccountStatus.ACTIVE,
        renewal_date__lte=today + dt.timedelta(days=90),
        customer_since__lte=today - dt.timedelta(days=60),
    ).update(lifecycle_stage=LifecycleStage.RENEWAL)


def login_url() -> str:
    return settings.SITE_URL + "/login/"
