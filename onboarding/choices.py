from django.db import models
from django.utils.translation import gettext_lazy as _


class TaskSide(models.TextChoices):
    """Who does an onboarding task: our team (it becomes a CSM task) or the customer."""

    US = "us", _("Our team")
    CUSTOMER = "customer", _("Customer")

    @property
    def colour(self) -> str:
        return {"us": "primary", "customer": "warning"}[self.value]


class PlanStatus(models.TextChoices):
    ACTIVE = "active", _("In progress")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")

    @property
    def colour(self) -> str:
        return {"active": "primary", "completed": "success", "cancelled": "secondary"}[self.value]


class PlanHealth(models.TextChoices):
    """How an active plan is doing, from the lateness and inactivity thresholds."""

    ON_TRACK = "on_track", _("On track")
    BEHIND = "behind", _("Behind")
    STUCK = "stuck", _("Stuck")

    @property
    def colour(self) -> str:
        return {"on_track": "success", "behind": "warning", "stuck": "danger"}[self.value]


class CriterionRole(models.TextChoices):
    ACTIVATION = "activation", _("Activation")
    VALUE = "value", _("Time-to-value point")


class CriterionKind(models.TextChoices):
    """What a criterion counts, read from the usage rollups since the plan started."""

    FEATURE_EVENTS = "feature_events", _("Events of a feature")
    FEATURE_USERS = "feature_users", _("End users of a feature")
    ACTIVE_USERS = "active_users", _("Active end users")
    CORE_EVENTS = "core_events", _("Core events")
    ACTIVE_DAYS = "active_days", _("Days with activity")
    MILESTONE = "milestone", _("Milestone completed")

    @property
    def needs_feature(self) -> bool:
        return self.value in ("feature_events", "feature_users")


class ActivationMatch(models.TextChoices):
    ALL = "all", _("All criteria")
    ANY = "any", _("Any one criterion")


class CancelReason(models.TextChoices):
    CHURNED = "churned", _("The customer churned")
    RESTARTED = "restarted", _("Restarted with another plan")
    NOT_NEEDED = "not_needed", _("Onboarding not needed")
    OTHER = "other", _("Other")
