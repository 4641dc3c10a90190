from django.db import models
from django.utils.translation import gettext_lazy as _


class Tier(models.TextChoices):
    ENTERPRISE = "enterprise", _("Enterprise")
    MID_MARKET = "mid_market", _("Mid-market")
    SMB = "smb", _("SMB")


class TouchModel(models.TextChoices):
    HIGH = "high", _("High-touch")
    LOW = "low", _("Low-touch")
    TECH = "tech", _("Tech-touch (self-service)")


class BusinessModel(models.TextChoices):
    B2B = "b2b", _("B2B")
    B2C = "b2c", _("B2C")


class LifecycleStage(models.TextChoices):
    ONBOARDING = "onboarding", _("Onboarding")
    ADOPTION = "adoption", _("Adoption")
    GROWTH = "growth", _("Growth / expansion")
    RENEWAL = "renewal", _("Renewal")
    CHURNED = "churned", _("Churned")


class AccountStatus(models.TextChoices):
    TRIAL = "trial", _("Trial")
    ACTIVE = "active", _("Active")
    CHURNED = "churned", _("Churned")

    @property
    def colour(self) -> str:
        return {"trial": "info", "active": "success", "churned": "secondary"}[self.value]


class PowerRole(models.TextChoices):
    EXECUTIVE_SPONSOR = "executive_sponsor", _("Executive sponsor")
    DECISION_MAKER = "decision_maker", _("Decision maker")
    CHAMPION = "champion", _("Champion")
    INFLUENCER = "influencer", _("Influencer")
    USER = "user", _("User")
    DETRACTOR = "detractor", _("Detractor")


class BillingPeriod(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    SEMI_ANNUAL = "semi_annual", _("Semi-annual")
    ANNUAL = "annual", _("Annual")
    CUSTOM = "custom", _("Every N months")

    @property
    def months(self) -> int | None:
        return {"monthly": 1, "quarterly": 3, "semi_annual": 6, "annual": 12}.get(self.value)


class DiscountType(models.TextChoices):
    NONE = "none", _("No discount")
    PERCENT = "percent", _("Percent")
    AMOUNT = "amount", _("Amount per billing period")


class SubscriptionStatus(models.TextChoices):
    TRIAL = "trial", _("Trial")
    ACTIVE = "active", _("Active")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


class ActivityKind(models.TextChoices):
    NOTE = "note", _("Note")
    CALL = "call", _("Call")
    MEETING = "meeting", _("Meeting")
    EMAIL = "email", _("Email")
    QBR = "qbr", _("QBR")
    SYSTEM = "system", _("System event")

    @property
    def icon(self) -> str:
        return {
            "note": "journal-text",
            "call": "telephone",
            "meeting": "people",
            "email": "envelope",
            "qbr": "easel",
            "system": "gear",
        }[self.value]


class TaskKind(models.TextChoices):
    CALL = "call", _("Call")
    EMAIL = "email", _("Email")
    MEETING = "meeting", _("Meeting")
    REVIEW = "review", _("Review")
    FOLLOW_UP = "follow_up", _("Follow-up")
    ONBOARDING = "onboarding", _("Onboarding")
    RENEWAL = "renewal", _("Renewal")
    RISK = "risk", _("Risk")
    OTHER = "other", _("Other")


class TaskPriority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")

    @property
    def colour(self) -> str:
        return {"low": "secondary", "normal": "primary", "high": "warning", "urgent": "danger"}[
            self.value
        ]


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class GoalStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    ON_TRACK = "on_track", _("On track")
    AT_RISK = "at_risk", _("At risk")
    ACHIEVED = "achieved", _("Achieved")
    MISSED = "missed", _("Missed")

    @property
    def colour(self) -> str:
        return {
            "not_started": "secondary",
            "on_track": "success",
            "at_risk": "warning",
            "achieved": "primary",
            "missed": "danger",
        }[self.value]


class ImportKind(models.TextChoices):
    ACCOUNTS = "accounts", _("Accounts")
    CONTACTS = "contacts", _("Contacts")
    SUBSCRIPTIONS = "subscriptions", _("Subscriptions")


class ImportStatus(models.TextChoices):
    PREVIEWED = "previewed", _("Previewed")
    INVALID = "invalid", _("Has errors")
    COMMITTED = "committed", _("Imported")
