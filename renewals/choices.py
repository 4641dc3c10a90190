from django.db import models
from django.utils.translation import gettext_lazy as _


class RenewalStage(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    IN_PROGRESS = "in_progress", _("In progress")
    COMMITTED = "committed", _("Committed")
    CLOSED = "closed", _("Closed")

    @property
    def colour(self) -> str:
        return {
            "not_started": "secondary",
            "in_progress": "primary",
            "committed": "success",
            "closed": "dark",
        }[self.value]


class ForecastCategory(models.TextChoices):
    """How the owner expects the renewal to go; each has a default probability (settings)."""

    COMMIT = "commit", _("Commit")
    PROBABLE = "probable", _("Probable")
    AT_RISK = "at_risk", _("At risk")
    CHURN = "churn", _("Churn")

    @property
    def colour(self) -> str:
        return {
            "commit": "success",
            "probable": "primary",
            "at_risk": "warning",
            "churn": "danger",
        }[self.value]


class Outcome(models.TextChoices):
    RENEWED = "renewed", _("Renewed flat")
    EXPANDED = "expanded", _("Expanded")
    CONTRACTED = "contracted", _("Contracted")
    CHURNED = "churned", _("Churned")

    @property
    def colour(self) -> str:
        return {
            "renewed": "success",
            "expanded": "primary",
            "contracted": "warning",
            "churned": "danger",
        }[self.value]

    @property
    def is_won(self) -> bool:
        return self.value != "churned"


class ChurnType(models.TextChoices):
    VOLUNTARY = "voluntary", _("Voluntary")
    INVOLUNTARY = "involuntary", _("Involuntary")


class ReasonCode(models.TextChoices):
    """Why a customer churned or contracted (also why a renewal is at risk)."""

    PRICE = "price", _("Price / too expensive")
    BUDGET = "budget", _("Budget cuts")
    PRODUCT_FIT = "product_fit", _("Missing features / poor product fit")
    LOW_ADOPTION = "low_adoption", _("Low adoption / not used enough")
    COMPETITOR = "competitor", _("Moved to a competitor")
    SERVICE = "service", _("Support or service quality")
    TECHNICAL = "technical", _("Bugs, performance or reliability")
    CHAMPION_LEFT = "champion_left", _("Champion or sponsor left")
    MERGER = "merger", _("Merger or acquisition")
    DOWNSIZING = "downsizing", _("Fewer users or teams (downsizing)")
    NO_LONGER_NEEDED = "no_longer_needed", _("Project ended / no longer needed")
    FAILED_PAYMENT = "failed_payment", _("Failed payment")
    OUT_OF_BUSINESS = "out_of_business", _("Out of business")
    OTHER = "other", _("Other")

    @property
    def churn_type(self) -> str:
        """Involuntary churn is the customer's card or company failing, not a decision."""
        if self.value in ("failed_payment", "out_of_business"):
            return ChurnType.INVOLUNTARY
        return ChurnType.VOLUNTARY


class CounterOfferKind(models.TextChoices):
    PAYMENT_EXTENSION = "payment_extension", _("Payment extension")
    FREE_MONTHS = "free_months", _("Free months")
    CONSULTING = "consulting", _("Consulting sessions")
    DISCOUNT = "discount", _("Discount")
    DOWNGRADE = "downgrade", _("Smaller plan")
    OTHER = "other", _("Other")


class CounterOfferStatus(models.TextChoices):
    OFFERED = "offered", _("Offered")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")

    @property
    def colour(self) -> str:
        return {"offered": "primary", "accepted": "success", "declined": "secondary"}[self.value]


class Communication(models.TextChoices):
    """Exit interview: did our team communicate well?"""

    WELL = "well", _("Yes, well")
    PARTLY = "partly", _("Partly")
    POORLY = "poorly", _("No, poorly")


class WouldReturn(models.TextChoices):
    YES = "yes", _("Yes")
    MAYBE = "maybe", _("Maybe")
    NO = "no", _("No")


class WinBackStatus(models.TextChoices):
    """Trying to win a churned customer back."""

    PLANNED = "planned", _("Planned")
    WON = "won", _("Won back")
    LOST = "lost", _("Not coming back")

    @property
    def colour(self) -> str:
        return {"planned": "primary", "won": "success", "lost": "secondary"}[self.value]


class RiskFlag(models.TextChoices):
    """The signals that make a renewal at risk (which count: RENEWALS_RISK_FLAGS)."""

    HEALTH = "health", _("Health")
    USAGE = "usage", _("Falling usage")
    ESCALATIONS = "escalations", _("Open escalations")
    NPS = "nps", _("Detractor NPS")


class ReminderKind(models.TextChoices):
    RENEWAL = "renewal", _("Renewal date")
    NOTICE = "notice", _("Cancellation deadline")
