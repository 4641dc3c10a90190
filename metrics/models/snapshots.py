"""What the metric engine stores: daily snapshots, so that history and trends survive."""

from __future__ import annotations

from django.db import models

from accounts.models import Account
from metrics.choices import MovementKind, Period


class MrrMovement(models.Model):
    """One account's MRR movement in one month (new, expansion, contraction, churn, reactivation)."""

    # The unique constraint below leads with the account: no second index for it.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    month = models.DateField(help_text="First day of the month.")
    kind = models.CharField(max_length=12, choices=MovementKind.choices)
    amount = models.DecimalField(max_digits=16, decimal_places=4)
    opening_mrr = models.DecimalField(max_digits=16, decimal_places=4)
    closing_mrr = models.DecimalField(max_digits=16, decimal_places=4)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "month"], name="movement_one_per_account_month"
            )
        ]
        indexes = [models.Index(fields=["month", "kind"], name="movement_month_kind")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.month:%Y-%m} {self.kind} {self.amount}"


class AccountDailyMetrics(models.Model):
    """One wide row per account per day: its figures as the engine computed them that day."""

    # Derived rows, rewritten by the hundred thousand per recalculation: no database
    # constraint (a per-row check at commit) and no index of its own (the unique constraint
    # below leads with the account). Django cascades deletes; readers join the account.
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    date = models.DateField()
    mrr = models.DecimalField(max_digits=16, decimal_places=4, default=0)
    dau = models.PositiveIntegerField(default=0)
    wau = models.PositiveIntegerField(default=0)
    mau = models.PositiveIntegerField(default=0)
    events_30d = models.PositiveIntegerField(default=0)
    core_adoption_30d = models.DecimalField(max_digits=7, decimal_places=2, null=True)
    days_since_last_activity = models.PositiveIntegerField(null=True)
    tickets_open = models.PositiveIntegerField(default=0)
    tickets_30d = models.PositiveIntegerField(default=0)
    nps_365d = models.DecimalField(max_digits=6, decimal_places=2, null=True)
    csat_365d = models.DecimalField(max_digits=6, decimal_places=2, null=True)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "date"], name="accountmetrics_one_per_day")
        ]
        indexes = [models.Index(fields=["date"], name="accountmetrics_date")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.date}"


class MetricSnapshot(models.Model):
    """A portfolio or segment metric for the period ending on `date` (e.g. churn for a month)."""

    date = models.DateField()
    period = models.CharField(max_length=8, choices=Period.choices)
    metric = models.CharField(max_length=40)
    # "" for the whole portfolio, else "<field>:<value>", e.g. "tier:enterprise".
    segment = models.CharField(max_length=64, blank=True, default="")
    value = models.DecimalField(max_digits=20, decimal_places=4, null=True)
    numerator = models.DecimalField(max_digits=20, decimal_places=4, null=True)
    denominator = models.DecimalField(max_digits=20, decimal_places=4, null=True)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["metric", "period", "segment", "date"], name="snapshot_one_per_key"
            )
        ]
        indexes = [
            models.Index(fields=["metric", "segment", "period", "date"], name="snapshot_lookup")
        ]

    def __str__(self) -> str:
        return f"{self.metric}/{self.period}/{self.segment or 'all'} {self.date}: {self.value}"


class AccountChange(models.Model):
    """An account whose signals changed since its figures were last refreshed (a queue).

    Ingestion, tickets and survey answers add the account (a row at most, ON CONFLICT DO
    NOTHING, so concurrent batches never wait on each other); a periodic job takes the
    rows a few seconds old, refreshes those accounts' figures for today and announces it.
    """

    account = models.OneToOneField(
        Account,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
    )
    since = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.account_id} since {self.since:%H:%M:%S}"
