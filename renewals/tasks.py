"""Celery tasks of the renewals app: take ids, call one service (schedules: settings)."""

from __future__ import annotations

from celery import shared_task

from renewals.services import closing, offboarding, reminders, risk, sync


@shared_task(name="renewals.tasks.renewals_sync_all")
def renewals_sync_all() -> int:
    """Every 15 minutes: renewals for lines written in bulk (imports), roll-forward."""
    result = sync.renewals_sync()
    return result.created + len(result.closed)


@shared_task(name="renewals.tasks.renewals_risk_refresh_all")
def renewals_risk_refresh_all() -> int:
    """Hourly: every open renewal's risk from health, usage, escalations and NPS."""
    return len(risk.renewals_risk_refresh().at_risk)


@shared_task(name="renewals.tasks.renewals_risk_refresh_accounts")
def renewals_risk_refresh_accounts(account_ids: list[int]) -> int:
    """The risk of these accounts' renewals, after their figures were refreshed."""
    return len(risk.renewals_risk_refresh(account_ids=account_ids).at_risk)


@shared_task(name="renewals.tasks.renewals_auto_renew_due")
def renewals_auto_renew_due() -> int:
    return len(closing.renewals_auto_renew_due())


@shared_task(name="renewals.tasks.accounts_churn_due")
def accounts_churn_due() -> int:
    return len(closing.accounts_churn_due())


@shared_task(name="renewals.tasks.accounts_renewal_stage_sync")
def accounts_renewal_stage_sync() -> int:
    return closing.accounts_renewal_stage_sync()


@shared_task(name="renewals.tasks.win_backs_detect")
def win_backs_detect() -> int:
    return len(offboarding.win_backs_detect())


@shared_task(name="renewals.tasks.renewal_reminders_send")
def renewal_reminders_send() -> int:
    return len(reminders.renewal_reminders_send())


@shared_task(name="renewals.tasks.renewal_cadence_tasks")
def renewal_cadence_tasks() -> int:
    return reminders.renewal_cadence_tasks()
