from django.db import models
from django.utils.translation import gettext_lazy as _


class QbrKind(models.TextChoices):
    """A QBR reviews the quarter with the working team; an EBR is for executives
    (strategy and outcomes over tactics)."""

    QBR = "qbr", _("QBR")
    EBR = "ebr", _("EBR (executive)")


class QbrStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    PREPARED = "prepared", _("Prepared")
    HELD = "held", _("Held")
    FOLLOWED_UP = "followed_up", _("Followed up")
    CANCELLED = "cancelled", _("Cancelled")

    @property
    def colour(self) -> str:
        return {
            "planned": "secondary",
            "prepared": "primary",
            "held": "info",
            "followed_up": "success",
            "cancelled": "dark",
        }[self.value]


# A QBR that took place (held or followed up) resets the account's cadence.
HELD_STATUSES = (QbrStatus.HELD, QbrStatus.FOLLOWED_UP)
OPEN_STATUSES = (QbrStatus.PLANNED, QbrStatus.PREPARED)


class Cadence(models.TextChoices):
    """How often an account has a QBR (SPEC §8)."""

    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    SEMIANNUAL = "semiannual", _("Twice a year")
    NONE = "none", _("No QBR")

    @property
    def days(self) -> int | None:
        """The interval, in days, from one QBR to the next."""
        return {"monthly": 30, "quarterly": 91, "semiannual": 182}.get(self.value)


class CadenceReason(models.TextChoices):
    """Why an account has the cadence it has, as the QBRs due list explains it."""

    DEFAULT = "default", _("Quarterly by default")
    IMPLEMENTATION = "implementation", _("Monthly during an implementation")
    QUIET = "quiet", _("Quiet account: twice a year, a temperature check each quarter")
    ONBOARDING = "onboarding", _("Onboarding: the first QBR follows its completion")
    FIRST = "first", _("First QBR after onboarding")
    NEW_CONTRACT = "new_contract", _("New contract: no QBR right after signing")
    OVERRIDE = "override", _("Set by hand")
    CHURNED = "churned", _("Churned")


class StepSide(models.TextChoices):
    """Who carries out a next step agreed at the QBR."""

    OURS = "ours", _("Our team")
    CUSTOMER = "customer", _("The customer")


class BatchStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")

    @property
    def colour(self) -> str:
        return {"queued": "secondary", "running": "primary", "done": "success", "failed": "danger"}[
            self.value
        ]


class ExportFormat(models.TextChoices):
    PDF = "pdf", _("PDF")
    PPTX = "pptx", _("PowerPoint (.pptx)")
    BOTH = "both", _("PDF and PowerPoint")


class InvitationKind(models.TextChoices):
    EXISTING = "existing", _("Existing customer")
    NEW = "new", _("New customer after onboarding")


class Section(models.TextChoices):
    """The narrative sections a CSM writes; data sections fill themselves beside them.

    The four mandatory agenda items of SPEC §8 are always in the document; the optional
    ones only when chosen. The order here is the document's: most important first.
    """

    SUMMARY = "summary", _("Executive summary")
    PERFORMANCE = "performance", _("Performance over the period")
    RESULTS = "results", _("Results against the goals set last time")
    GAPS = "gaps", _("Gaps and new goals")
    ACTION_PLAN = "action_plan", _("Action plan")
    PRODUCT_UPDATES = "product_updates", _("Product updates")
    TICKETS = "tickets", _("Notable tickets and incidents")
    WINS = "wins", _("Wins")
    RECOMMENDATIONS = "recommendations", _("Recommendations")

    @property
    def mandatory(self) -> bool:
        return self.value in MANDATORY_SECTIONS

    @property
    def optional(self) -> bool:
        return self.value in OPTIONAL_SECTIONS


MANDATORY_SECTIONS = ("summary", "performance", "results", "gaps", "action_plan", "recommendations")
OPTIONAL_SECTIONS = ("product_updates", "tickets", "wins")
