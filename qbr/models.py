"""QBRs and EBRs (SPEC §8): the meetings, their prep packs and documents, the next steps
agreed at them, per-account cadence set by hand, and batch generation of decks."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Contact, Task
from qbr.choices import (
    BatchStatus,
    Cadence,
    ExportFormat,
    QbrKind,
    QbrStatus,
    StepSide,
)


class Qbr(models.Model):
    """One business review of an account: planned, prepared, held, then followed up."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="qbrs")
    kind = models.CharField(_("type"), max_length=4, choices=QbrKind.choices, default=QbrKind.QBR)
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    scheduled_at = models.DateTimeField(_("scheduled for"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=QbrStatus.choices, default=QbrStatus.PLANNED
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("prepared by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="qbrs",
    )
    attendee_contacts = models.ManyToManyField(
        Contact, verbose_name=_("customer attendees"), blank=True, related_name="qbrs"
    )
    attendee_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("our attendees"),
        blank=True,
        related_name="qbrs_attended",
    )
    # Narrative sections as plain text, keyed by Section; rendered escaped everywhere.
    narrative = models.JSONField(default=dict, blank=True)
    # The optional sections (Section values) the CSM chose to include.
    optional_sections = models.JSONField(default=list, blank=True)
    # The prep pack as it was when the QBR was prepared (figures frozen for the deck).
    prep = models.JSONField(default=dict, blank=True)
    prepared_at = models.DateTimeField(_("prepared at"), null=True, blank=True)
    held_on = models.DateField(_("held on"), null=True, blank=True)
    notes = models.TextField(_("meeting notes"), blank=True)
    followed_up_at = models.DateTimeField(_("followed up at"), null=True, blank=True)
    # The onboarding app's "Hold the first QBR" task this QBR answers, if any.
    first_qbr_task = models.ForeignKey(
        Task, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_first = models.BooleanField(_("first QBR"), default=False)
    pdf = models.FileField(upload_to="qbr/decks/%Y/%m/", blank=True)
    pptx = models.FileField(upload_to="qbr/decks/%Y/%m/", blank=True)
    exported_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-period_end", "-pk"]
        verbose_name = _("QBR")
        verbose_name_plural = _("QBRs")
        indexes = [
            # The cadence reads the last held QBR and the next open one of every account.
            models.Index(fields=["account", "status", "held_on"], name="qbr_account_status_held"),
            models.Index(fields=["status", "scheduled_at"], name="qbr_status_scheduled"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_start__lte=models.F("period_end")), name="qbr_period_ordered"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["held", "followed_up"]) | Q(held_on__isnull=False),
                name="qbr_held_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.account} {self.period_end:%Y-%m-%d}"

    def get_absolute_url(self) -> str:
        return reverse("qbr:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in (QbrStatus.PLANNED, QbrStatus.PREPARED)

    @property
    def was_held(self) -> bool:
        return self.status in (QbrStatus.HELD, QbrStatus.FOLLOWED_UP)


class QbrNextStep(models.Model):
    """A next step agreed at a QBR; the follow-up turns each into a task."""

    qbr = models.ForeignKey(Qbr, on_delete=models.CASCADE, related_name="next_steps")
    position = models.PositiveSmallIntegerField(default=0)
    text = models.CharField(_("next step"), max_length=255)
    side = models.CharField(
        _("done by"), max_length=8, choices=StepSide.choices, default=StepSide.OURS
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    due_date = models.DateField(_("due date"), null=True, blank=True)
    task = models.ForeignKey(
        Task, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("next step")

    def __str__(self) -> str:
        return self.text


class CadenceOverride(models.Model):
    """A cadence a person set for an account (e.g. monthly until go-live), instead of the rules."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="qbr_cadence")
    cadence = models.CharField(_("cadence"), max_length=12, choices=Cadence.choices)
    until = models.DateField(
        _("until"),
        null=True,
        blank=True,
        help_text=_("After this day the rules apply again; empty: until changed."),
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("QBR cadence")

    def __str__(self) -> str:
        return f"{self.account}: {self.get_cadence_display()}"


class TemperatureCheck(models.Model):
    """The quarterly check-in email a quiet account gets between its two QBRs a year."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    quarter = models.CharField(max_length=7)  # "2026-Q3"
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "quarter"], name="qbr_temperature_once")
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.quarter}"


class BatchJob(models.Model):
    """Decks generated in the background for a set of accounts, zipped for download."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=8, choices=BatchStatus.choices, default=BatchStatus.QUEUED
    )
    format = models.CharField(
        _("format"), max_length=4, choices=ExportFormat.choices, default=ExportFormat.PDF
    )
    kind = models.CharField(_("type"), max_length=4, choices=QbrKind.choices, default=QbrKind.QBR)
    account_ids = models.JSONField(default=list)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    # {account id: the error}, for the accounts whose deck could not be made.
    errors = models.JSONField(default=dict, blank=True)
    zip_file = models.FileField(upload_to="qbr/batches/%Y/%m/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("batch of decks")
        verbose_name_plural = _("batches of decks")

    def __str__(self) -> str:
        return f"{self.pk} {self.status} {self.done}/{self.total}"

    def get_absolute_url(self) -> str:
        return reverse("qbr:batch", args=[self.pk])

    @property
    def percent(self) -> int:
        return int(self.done * 100 / self.total) if self.total else 100

    @property
    def finished(self) -> bool:
        return self.status in (BatchStatus.DONE, BatchStatus.FAILED)


__all__ = [
    "BatchJob",
    "CadenceOverride",
    "Qbr",
    "QbrNextStep",
    "TemperatureCheck",
]
