"""Forms of the accounts pages: validation and layout (the crispy FormHelper lives here)."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Div, Layout, Row, Submit
from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.choices import ActivityKind, BillingPeriod
from accounts.models import Account, Contact, Goal, Subscription, Tag, Task
from csplatform.models import User

StrOrPromise = str | Promise

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _active_users() -> Any:
    return User.objects.filter(is_active=True).order_by("first_name", "username")


def _helper(submit_label: StrOrPromise, *, layout: Layout | None = None) -> FormHelper:
    helper = FormHelper()
    helper.form_method = "post"
    if layout is not None:
        helper.layout = layout
    helper.add_input(Submit("save", submit_label))
    return helper


class AccountForm(forms.ModelForm):
    """Create or edit an account; only a CS Lead or Admin picks the owner."""

    tags = forms.ModelMultipleChoiceField(
        label=_("Tags"),
        queryset=Tag.objects.all(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )

    class Meta:
        model = Account
        fields = [
            "name",
            "external_id",
            "domain",
            "industry",
            "country",
            "currency",
            "owner",
            "tier",
            "touch_model",
            "business_model",
            "lifecycle_stage",
            "status",
            "customer_since",
            "churned_at",
            "years_in_business",
            "single_decision_maker",
            "next_tier_price_threshold",
            "tags",
        ]
        widgets = {"customer_since": DATE, "churned_at": DATE}

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if user.is_cs_lead_or_admin:
            self.fields["owner"].queryset = _active_users()  # type: ignore[attr-defined]
        else:
            # A CSM owns what they create and cannot hand accounts over; a Lead assigns.
            del self.fields["owner"]
        if self.instance.pk:
            self.initial.setdefault("tags", list(self.instance.tags.all()))
        self.helper = _helper(
            _("Save account"),
            layout=Layout(
                Row(Column("name", css_class="col-md-6"), Column("external_id"), Column("domain")),
                Row(Column("industry"), Column("country"), Column("currency"))
                if "owner" not in self.fields
                else Row(
                    Column("industry"), Column("country"), Column("currency"), Column("owner")
                ),
                Row(
                    Column("tier"),
                    Column("touch_model"),
                    Column("business_model"),
                    Column("lifecycle_stage"),
                    Column("status"),
                ),
                Row(
                    Column("customer_since"),
                    Column("churned_at"),
                    Column("years_in_business"),
                    Column("next_tier_price_threshold"),
                ),
                Row(Column("tags", css_class="col-md-4"), Column("single_decision_maker")),
            ),
        )

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()

    def clean_country(self) -> str:
        return self.cleaned_data["country"].upper()

    def clean_external_id(self) -> str | None:
        # Blank means "no CRM id"; NULLs do not collide with the unique constraint.
        return self.cleaned_data.get("external_id") or None

    def service_fields(self) -> dict[str, Any]:
        """The cleaned values as keyword arguments of account_create / account_update."""
        data = dict(self.cleaned_data)
        data.pop("tags", None)
        return data


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = [
            "first_name",
            "last_name",
            "email",
            "phone",
            "title",
            "department",
            "power_role",
            "is_primary",
            "birthday",
            "anniversary",
        ]
        widgets = {"birthday": DATE, "anniversary": DATE}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            _("Save contact"),
            layout=Layout(
                Row(Column("first_name"), Column("last_name")),
                Row(Column("email"), Column("phone")),
                Row(Column("title"), Column("department")),
                Row(Column("power_role"), Column("is_primary")),
                Row(Column("birthday"), Column("anniversary")),
            ),
        )


class SubscriptionForm(forms.ModelForm):
    class Meta:
        model = Subscription
        fields = [
            "plan_name",
            "product",
            "quantity",
            "unit_price",
            "discount_type",
            "discount_value",
            "billing_period",
            "billing_period_months",
            "currency",
            "one_time_fees",
            "signed_on",
            "start_date",
            "end_date",
            "notice_period_days",
            "auto_renew",
            "status",
        ]
        widgets = {"signed_on": DATE, "start_date": DATE, "end_date": DATE}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["billing_period_months"].required = False
        self.fields["billing_period"].widget.attrs["data-billing-period"] = "1"
        if not self.instance.pk:
            self.initial["start_date"] = self.initial.get("start_date") or timezone.localdate()
            self.initial["currency"] = self.instance.account.currency
            # The model's default of 1 would quietly satisfy "every N months".
            self.initial["billing_period_months"] = None
        self.helper = _helper(
            _("Save subscription"),
            layout=Layout(
                Row(Column("plan_name"), Column("product"), Column("status")),
                Row(
                    Column("quantity"),
                    Column("unit_price"),
                    Column("currency"),
                    Column("discount_type"),
                    Column("discount_value"),
                ),
                Row(
                    Column("billing_period"),
                    Column(Div("billing_period_months", css_class="js-custom-months")),
                    Column("one_time_fees"),
                ),
                Row(
                    Column("signed_on"),
                    Column("start_date"),
                    Column("end_date"),
                    Column("notice_period_days"),
                    Column("auto_renew"),
                ),
            ),
        )

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        period = data.get("billing_period")
        if period == BillingPeriod.CUSTOM and not data.get("billing_period_months"):
            self.add_error(
                "billing_period_months",
                _("Enter how many months the billing period has."),
            )
        elif period and period != BillingPeriod.CUSTOM:
            data["billing_period_months"] = BillingPeriod(period).months
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("The end date cannot be before the start date."))
        return data


class ActivityForm(forms.Form):
    """Log a note, call, meeting or email on an account's timeline."""

    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[c for c in ActivityKind.choices if c[0] != ActivityKind.SYSTEM],
        initial=ActivityKind.NOTE,
    )
    occurred_at = forms.DateTimeField(label=_("When"), required=False, widget=DATETIME)
    subject = forms.CharField(label=_("Subject"), max_length=255)
    summary = forms.CharField(
        label=_("Summary"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    contacts = forms.ModelMultipleChoiceField(
        label=_("Contacts involved"), queryset=Contact.objects.none(), required=False
    )

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contacts"].queryset = Contact.objects.filter(account=account)  # type: ignore[attr-defined]
        if not self.is_bound:
            # Shown on the 360 page, whose contacts are already prefetched: no extra query.
            self.fields["contacts"].choices = [(c.pk, str(c)) for c in account.contacts.all()]  # type: ignore[attr-defined]
        self.helper = _helper(
            _("Log activity"),
            layout=Layout(
                Row(Column("kind", css_class="col-md-4"), Column("occurred_at")),
                "subject",
                "summary",
                "contacts",
            ),
        )
        self.helper.form_action = reverse("accounts:activity_create", args=[account.pk])


class TaskForm(forms.ModelForm):
    class Meta:
        model = Task
        fields = ["title", "description", "kind", "priority", "due_date", "assignee"]
        widgets = {"due_date": DATE, "description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = _active_users()  # type: ignore[attr-defined]
        self.fields["assignee"].help_text = _("Leave empty to assign it to the account owner.")
        self.helper = _helper(
            _("Save task"),
            layout=Layout(
                "title",
                "description",
                Row(Column("kind"), Column("priority"), Column("due_date"), Column("assignee")),
            ),
        )

    def service_fields(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k not in ("title", "assignee")}


class TaskCompleteForm(forms.Form):
    outcome = forms.CharField(label=_("Outcome"), max_length=255, required=False)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(_("Complete task"))


class TaskSnoozeForm(forms.Form):
    until = forms.DateField(label=_("Snooze until"), widget=DATE)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(_("Snooze"))

    def clean_until(self) -> Any:
        until = self.cleaned_data["until"]
        if until <= timezone.localdate():
            raise forms.ValidationError(_("Snooze until a future date."))
        return until


class TaskReassignForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("Assign to"), queryset=User.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = _active_users()  # type: ignore[attr-defined]
        self.helper = _helper(_("Reassign"))


class GoalForm(forms.ModelForm):
    note = forms.CharField(
        label=_("Note on this change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept in the goal's history, e.g. 're-agreed at the Q3 QBR'."),
    )

    class Meta:
        model = Goal
        fields = ["title", "kpi", "target", "status", "due_date"]
        widgets = {"due_date": DATE}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            _("Save goal"),
            layout=Layout(
                "title",
                Row(Column("kpi"), Column("target")),
                Row(Column("status"), Column("due_date")),
                "note",
            ),
        )
