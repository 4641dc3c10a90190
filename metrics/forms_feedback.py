"""Forms for tickets and surveys: sending a survey, schedules, the public comment page and
the CSV rows of tickets and survey responses.

Row forms check one CSV row on its own (types, choices, ranges, time order); which
account or contact a row names is decided by metrics.importers_feedback.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _

from accounts.choices import LifecycleStage
from accounts.forms_import import (
    AccountRefForm,
    CsvBooleanField,
    CsvChoiceField,
    UploadForm,
    text,
)
from accounts.models import Contact
from metrics.choices import SurveyKind, TicketChannel, TicketPriority, TicketStatus
from metrics.models.feedback import FeedbackImport, SurveySchedule
from metrics.services.feedback import EMAILED_KINDS, survey_score_error, ticket_errors

EMAILED_KIND_CHOICES = [(k.value, k.label) for k in EMAILED_KINDS]


def _helper(label: Any) -> FormHelper:
    helper = FormHelper()
    helper.form_method = "post"
    helper.add_input(Submit("save", label))
    return helper


class SurveySendForm(forms.Form):
    contact = forms.ModelChoiceField(queryset=Contact.objects.none(), label=_("Contact"))
    kind = forms.ChoiceField(label=_("Survey"), choices=EMAILED_KIND_CHOICES)

    def __init__(self, *args: Any, contacts: QuerySet[Contact], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = contacts  # type: ignore[attr-defined]
        self.helper = _helper(_("Send survey"))


class SurveyScheduleForm(forms.ModelForm):
    kind = forms.ChoiceField(label=_("Survey"), choices=EMAILED_KIND_CHOICES)

    class Meta:
        model = SurveySchedule
        fields = [
            "name",
            "kind",
            "enabled",
            "first_after_days",
            "repeat_every_days",
            "quiet_period_days",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(_("Save schedule"))

    def clean_repeat_every_days(self) -> int:
        value = self.cleaned_data["repeat_every_days"]
        if value < 1:
            raise ValidationError(_("Repeat at least every day."))
        return value


class SurveyCommentForm(forms.Form):
    comment = forms.CharField(
        label=_("What is the main reason for your score?"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=5000,
        required=False,
    )


class FeedbackUploadForm(UploadForm):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=FeedbackImport.Kind.choices)


# CSV rows ------------------------------------------------------------------------------


class CsvDateTimeField(forms.CharField):
    """An ISO 8601 date-time (a bare date means midnight); without an offset it is UTC."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> datetime | None:  # type: ignore[override]
        text_value = str(value or "").strip()
        if not text_value:
            return None
        try:
            parsed = parse_datetime(text_value.replace(" ", "T", 1))
            if parsed is None:
                day = parse_date(text_value)
                if day is not None:
                    parsed = datetime(day.year, day.month, day.day)
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValidationError(
                _("Enter a date and time as YYYY-MM-DD HH:MM (UTC) or ISO 8601."), code="invalid"
            )
        if timezone.is_naive(parsed):
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)


class TicketRowForm(AccountRefForm):
    external_id = text(100)
    subject = text(255, required=True)
    requester_email = forms.EmailField(required=False, max_length=254)
    channel = CsvChoiceField(TicketChannel)
    priority = CsvChoiceField(TicketPriority)
    status = CsvChoiceField(TicketStatus)
    is_escalation = CsvBooleanField()
    opened_at = CsvDateTimeField(required=True)
    first_response_at = CsvDateTimeField()
    resolved_at = CsvDateTimeField()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name, messages in ticket_errors(
            opened_at=data.get("opened_at"),
            first_response_at=data.get("first_response_at"),
            resolved_at=data.get("resolved_at"),
        ).items():
            self.add_error(name, messages)
        return data


class SurveyResponseRowForm(AccountRefForm):
    external_id = text(100)
    contact_email = forms.EmailField(required=False, max_length=254)
    kind = CsvChoiceField(SurveyKind, required=True)
    score = forms.IntegerField(min_value=0, max_value=10)
    comment = forms.CharField(required=False, max_length=5000)
    lifecycle_stage = CsvChoiceField(LifecycleStage)
    responded_at = CsvDateTimeField(required=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("kind") and data.get("score") is not None:
            message = survey_score_error(kind=data["kind"], score=data["score"])
            if message:
                self.add_error("score", message)
        return data
