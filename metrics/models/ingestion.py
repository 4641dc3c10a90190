"""What the platform learns from product usage: sources, end users, events and rollups."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, BaseImportJob
from metrics.choices import EventType


class Source(models.Model):
    """A sender of tracking data (an app, a CDP); its write key is stored hashed."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    write_key_prefix = models.CharField(max_length=12, db_index=True)
    write_key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Feature(models.Model):
    """A product feature, made of one or more event names, scored only where the plan has it."""

    key = models.SlugField(_("key"), max_length=100, unique=True)
    name = models.CharField(_("name"), max_length=150)
    description = models.TextField(_("description"), blank=True)
    release_date = models.DateField(_("release date"), null=True, blank=True)
    is_core = models.BooleanField(_("core feature"), default=False)
    is_key = models.BooleanField(
        _("key feature"), default=False, help_text=_("Alerts on key features wait less.")
    )
    # Plan names (Subscription.plan_name) that include it; empty means every plan.
    plans = models.JSONField(_("plans that include it"), default=list, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class FeatureEvent(models.Model):
    """Maps an event name to the feature it belongs to."""

    event_name = models.CharField(_("event name"), max_length=200, unique=True)
    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="events")

    def __str__(self) -> str:
        return f"{self.event_name} → {self.feature}"


class EndUser(models.Model):
    """A user of the customer's product, known by the id the product sends (Segment userId)."""

    external_id = models.CharField(_("user id"), max_length=255)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="end_users"
    )
    # The account's external id as last sent by `group`, kept until that account exists.
    group_external_id = models.CharField(max_length=100, blank=True)
    email = models.EmailField(_("email"), blank=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    traits = models.JSONField(default=dict, blank=True)
    first_seen_at = models.DateTimeField(_("first seen"), null=True, blank=True)
    # Kept to within LAST_SEEN_RESOLUTION (metrics.services.ingestion): moving it by less
    # is not worth a new row version on every batch a user appears in.
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # A constraint rather than unique=True: no second, LIKE-pattern index to keep.
            models.UniqueConstraint(fields=["external_id"], name="enduser_external_id_unique"),
        ]
        indexes = [
            # Users waiting for the account their `group` named; the only ones looked up by it.
            models.Index(
                fields=["group_external_id"],
                name="enduser_pending_group",
                condition=~Q(group_external_id=""),
            ),
        ]

    def __str__(self) -> str:
        return self.email or self.external_id


# Ingestion writes these tables on every batch. Their foreign keys carry no database
# constraint: a constraint costs a lookup and a shared lock on the parent row for every row
# written, and concurrent batches locking the same account serialize on it. Django still
# cascades deletes through them, and every reader joins the parent, so a row whose account
# vanished mid-batch is simply never counted. Indexes are the ones a query uses, no more:
# hence db_constraint=False, db_index=False on their foreign keys.


class Event(models.Model):
    """A raw usage event, kept for the retention window; `message_id` makes delivery idempotent."""

    message_id = models.CharField(max_length=255)
    source = models.ForeignKey(
        Source,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    type = models.CharField(max_length=10, choices=EventType.choices, default=EventType.TRACK)
    name = models.CharField(max_length=200, blank=True)
    account = models.ForeignKey(
        Account,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="events",
        db_constraint=False,
        db_index=False,
    )
    end_user = models.ForeignKey(
        EndUser,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
        db_constraint=False,
        db_index=False,
    )
    user_id = models.CharField(max_length=255, blank=True)
    anonymous_id = models.CharField(max_length=255, blank=True)
    timestamp = models.DateTimeField(db_index=True)
    received_at = models.DateTimeField()
    properties = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message_id"], name="event_message_id_unique"),
        ]
        indexes = [
            # An account's events in time order; also what deleting an account cascades by.
            models.Index(fields=["account", "timestamp"], name="event_account_time"),
            # Events waiting for their user to be linked to an account.
            models.Index(
                fields=["user_id"],
                name="event_unattached_user",
                condition=models.Q(account__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.name} @ {self.timestamp:%Y-%m-%d %H:%M}"


class PendingUsage(models.Model):
    """A usage event stored by the tracking API and not yet added to the daily rollups.

    The API writes the event and this narrow row in one statement; `rollups_fold`
    (metrics.services.ingestion) deletes the waiting rows a few seconds later and adds
    them to the four rollups in one set-based statement, in the same transaction, so every
    event is counted exactly once however the two interleave. Ids are plain integers, not
    relations: the fold skips rows whose account was deleted meanwhile.
    """

    id = models.BigAutoField(primary_key=True)
    account_id = models.BigIntegerField()
    end_user_id = models.BigIntegerField()
    name = models.CharField(max_length=200, blank=True)
    type = models.CharField(max_length=10)
    timestamp = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.account_id} {self.name} @ {self.timestamp:%Y-%m-%d %H:%M}"


class AccountDailyUsage(models.Model):
    """Events and distinct active end users of one account on one day (rolled up at ingestion)."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    date = models.DateField()
    events = models.PositiveIntegerField(default=0)
    core_events = models.PositiveIntegerField(default=0)
    active_users = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "date"], name="usage_one_row_per_account_day"
            )
        ]
        indexes = [models.Index(fields=["date"], name="usage_date")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.date}: {self.events} events, {self.active_users} users"


class AccountFeatureDailyUsage(models.Model):
    """Events and distinct users of one feature in one account on one day."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    feature = models.ForeignKey(
        Feature, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    date = models.DateField()
    events = models.PositiveIntegerField(default=0)
    users = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "feature", "date"], name="featureusage_one_row_per_day"
            )
        ]
        indexes = [models.Index(fields=["date"], name="featureusage_date")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.feature_id} {self.date}: {self.users} users"


class EndUserDailyActivity(models.Model):
    """One end user active on one day: the basis of DAU/WAU/MAU without rescanning events."""

    end_user = models.ForeignKey(
        EndUser, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    date = models.DateField()
    events = models.PositiveIntegerField(default=0)
    core_events = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["end_user", "date"], name="useractivity_one_row_per_day"
            )
        ]
        indexes = [models.Index(fields=["account", "date"], name="useractivity_account_date")]

    def __str__(self) -> str:
        return f"{self.end_user_id} {self.date}: {self.events} events"


class EndUserFeatureDaily(models.Model):
    """One end user using one feature on one day: the basis of feature adoption."""

    end_user = models.ForeignKey(
        EndUser, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    feature = models.ForeignKey(
        Feature, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    date = models.DateField()
    events = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["end_user", "feature", "date"], name="userfeature_one_row_per_day"
            )
        ]
        indexes = [
            models.Index(fields=["account", "feature", "date"], name="userfeature_account_date")
        ]

    def __str__(self) -> str:
        return f"{self.end_user_id} {self.feature_id} {self.date}"


class EventImport(BaseImportJob):
    """A CSV of usage events: previewed with per-row errors, then ingested all or nothing."""

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("event import")

    def __str__(self) -> str:
        return self.filename
