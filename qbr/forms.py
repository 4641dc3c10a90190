"""Forms of the QBR pages: validation and layout (the crispy FormHelper lives here)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from crispy_forms.layout import Column, Layout, Row
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import Tier
from accounts.forms import DATE, DATETIME, _active_users, _helper
from accounts.models import Account, Contact
from qbr.choices import (
    OPTIONAL_SECTIONS,
    Cadence,
    ExportFormat,
    InvitationKind,
    QbrKind,
    Section,
    StepSide,
)
from qbr.models import Qbr
from qbr.services.qbrs import MAX_STEPS, NARRATIVE_MAX_CHARS

MAX_PERIOD_DAYS = 366
CHECKBOXES = forms.CheckboxSelectMultiple


def optional_section_choices() -> list[tuple[str, Any]]:
    return [(s, Section(s).label) for s in OPTIONAL_SECTIONS]


def _contacts_field(
    account: Account, label: Any, required: bool = False
) -> forms.ModelMultipleChoiceField:
    field = forms.ModelMultipleChoiceField(
        label=label,
        queryset=Contact.objects.filter(account=account).order_by("-is_primary", "last_name", "pk"),
        widget=CHECKBOXES,
        required=required,
    )
    field.label_from_instance = lambda c: (  # type: ignore[method-assign]
        f"{c.first_name} {c.last_name}".strip()
        + (f" · {c.title}" if c.title else "")
        + (f" · {c.email}" if c.email else f" · {_('no email')}")
    )
    return field


def _optional_sections_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=_("Optional sections in the document"),
        choices=optional_section_choices,
        widget=CHECKBOXES,
        required=False,
    )


class QbrForm(forms.ModelForm):
    """Plan a QBR or change its type, period, date and attendees."""

    optional_sections = _optional_sections_field()

    class Meta:
        model = Qbr
        fields = [
            "kind",
            "period_start",
            "period_end",
            "scheduled_at",
            "attendee_contacts",
            "attendee_users",
        ]
        widgets = {"period_start": DATE, "period_end": DATE, "scheduled_at": DATETIME}

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attendee_contacts"] = _contacts_field(account, _("Customer attendees"))
        users = self.fields["attendee_users"]
        users.queryset = _active_users()  # type: ignore[attr-defined]
        users.required = False
        users.help_text = _("Our side: the CSM, an executive sponsor, a solutions engineer.")
        self.fields["kind"].help_text = _(
            "An EBR is for the customer's executives: strategy and outcomes over tactics."
        )
        if self.instance.pk:
            self.initial.setdefault("optional_sections", self.instance.optional_sections)
        self.helper = _helper(
            _("Save"),
            layout=Layout(
                Row(
                    Column("kind"),
                    Column("period_start"),
                    Column("period_end"),
                    Column("scheduled_at"),
                ),
                Row(Column("attendee_contacts"), Column("attendee_users")),
                "optional_sections",
            ),
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("period_start"), data.get("period_end")
        if start and end:
            if start > end:
                self.add_error("period_end", _("The period ends after it starts."))
            elif (end - start).days > MAX_PERIOD_DAYS:
                self.add_error("period_end", _("A period covers at most a year."))
        return data

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "period_start": data["period_start"],
            "period_end": data["period_end"],
            "scheduled_at": data.get("scheduled_at"),
            "contact_ids": [c.pk for c in data.get("attendee_contacts") or []],
            "user_ids": [u.pk for u in data.get("attendee_users") or []],
        }


class NarrativeForm(forms.Form):
    """Every narrative section as plain text, and the optional sections to include."""

    optional_sections = _optional_sections_field()

    def __init__(self, *args: Any, qbr: Qbr, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for section in Section:
            self.fields[section.value] = forms.CharField(
                label=section.label,
                required=False,
                max_length=NARRATIVE_MAX_CHARS,
                strip=True,
                widget=forms.Textarea(attrs={"rows": 4}),
                initial=qbr.narrative.get(section.value, ""),
            )
        self.fields["optional_sections"].initial = qbr.optional_sections

    def narrative(self) -> dict[str, str]:
        return {s.value: self.cleaned_data.get(s.value, "") for s in Section}


class SectionForm(forms.Form):
    """One narrative section, saved in place (htmx)."""

    section = forms.ChoiceField(choices=Section.choices)
    text = forms.CharField(
        required=False, max_length=NARRATIVE_MAX_CHARS, strip=True, widget=forms.Textarea
    )


class HoldForm(forms.Form):
    held_on = forms.DateField(label=_("Held on"), widget=DATE, initial=timezone.localdate)
    notes = forms.CharField(
        label=_("Meeting notes"),
        required=False,
        max_length=NARRATIVE_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 6}),
    )

    def __init__(self, *args: Any, qbr: Qbr, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contacts"] = _contacts_field(qbr.account, _("Who attended from the customer"))
        self.initial.setdefault("contacts", [c.pk for c in qbr.attendee_contacts.all()])
        self.helper = _helper(_("Record as held"), layout=Layout("held_on", "contacts", "notes"))

    def clean_held_on(self) -> dt.date:
        held_on = self.cleaned_data["held_on"]
        if held_on > timezone.localdate():
            raise forms.ValidationError(_("A QBR cannot be held in the future."))
        return held_on


class StepForm(forms.Form):
    text = forms.CharField(label=_("Next step"), max_length=255, required=False)
    side = forms.ChoiceField(label=_("Done by"), choices=StepSide.choices, initial=StepSide.OURS)
    due_date = forms.DateField(label=_("Due"), widget=DATE, required=False)
    assignee = forms.ModelChoiceField(label=_("Assignee"), queryset=None, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = _active_users()  # type: ignore[attr-defined]


StepFormSet = forms.formset_factory(
    StepForm, extra=0, max_num=MAX_STEPS, validate_max=True, absolute_max=MAX_STEPS
)


class FollowUpForm(forms.Form):
    send_email = forms.BooleanField(
        label=_("Email the follow-up to the customer"), required=False, initial=True
    )
    include_notes = forms.BooleanField(
        label=_("Include the meeting notes"), required=False, initial=True
    )
    deck = forms.ChoiceField(
        label=_("Deck"),
        choices=[
            ("link", _("Link the PDF and the PowerPoint")),
            ("none", _("Do not offer the deck")),
        ],
        initial="link",
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, qbr: Qbr, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contacts"] = _contacts_field(qbr.account, _("Send to"))
        self.initial.setdefault("contacts", [c.pk for c in qbr.attendee_contacts.all()])


class InviteForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Invitation"),
        choices=InvitationKind.choices,
        initial=InvitationKind.EXISTING,
        widget=forms.RadioSelect,
    )
    message = forms.CharField(
        label=_("A personal line (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, qbr: Qbr, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contacts"] = _contacts_field(qbr.account, _("Invite"), required=True)
        self.initial.setdefault("contacts", [c.pk for c in qbr.attendee_contacts.all()])
        if qbr.is_first:
            self.initial.setdefault("kind", InvitationKind.NEW)
        self.helper = _helper(
            _("Send the invitation"), layout=Layout("kind", "contacts", "message")
        )


class CadenceForm(forms.Form):
    cadence = forms.ChoiceField(
        label=_("Cadence"),
        choices=[("", _("By the rules")), *Cadence.choices],
        required=False,
    )
    until = forms.DateField(
        label=_("Until"), widget=DATE, required=False, help_text=_("Empty: until changed.")
    )
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            _("Save cadence"), layout=Layout(Row(Column("cadence"), Column("until")), "reason")
        )

    def clean_until(self) -> dt.date | None:
        until = self.cleaned_data.get("until")
        if until is not None and until < timezone.localdate():
            raise forms.ValidationError(_("Choose a day from today on."))
        return until


class BatchForm(forms.Form):
    SCOPES = [
        ("due", _("Accounts whose QBR is due in the next 30 days")),
        ("mine", _("My accounts")),
        ("tier", _("All customers of a tier")),
    ]
    scope = forms.ChoiceField(
        label=_("Accounts"), choices=SCOPES, initial="due", widget=forms.RadioSelect
    )
    tier = forms.ChoiceField(label=_("Tier"), choices=[("", "—"), *Tier.choices], required=False)
    format = forms.ChoiceField(
        label=_("Format"), choices=ExportFormat.choices, initial=ExportFormat.PDF
    )
    kind = forms.ChoiceField(label=_("Type"), choices=QbrKind.choices, initial=QbrKind.QBR)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            _("Generate the decks"),
            layout=Layout("scope", "tier", Row(Column("format"), Column("kind"))),
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("scope") == "tier" and not data.get("tier"):
            self.add_error("tier", _("Choose the tier."))
        return data
