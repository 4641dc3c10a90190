"""Celery tasks: take ids, call one service."""

from __future__ import annotations

from celery import shared_task

from accounts.models import Contact
from csplatform.models import User
from metrics.choices import SurveyKind
from metrics.services import feedback as services


@shared_task(name="metrics.tasks.feedback.surveys_send_scheduled")
def surveys_send_scheduled() -> int:
    """Hourly: email every schedule's due surveys; safe to run twice at once."""
    return sum(run.sent for run in services.surveys_send_scheduled())


@shared_task(name="metrics.tasks.feedback.survey_send")
def survey_send(contact_id: int, kind: str = SurveyKind.NPS, actor_id: int | None = None) -> int:
    """Email one survey to one contact; returns the SurveySend id."""
    contact = Contact.objects.select_related("account").get(pk=contact_id)
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    return services.survey_send(contact=contact, kind=kind, actor=actor).pk
