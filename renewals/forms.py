"""Forms of the renewals pages: validation and layout (the crispy FormHelper lives here)."""

from __future__ import annotations

from typing import Any

from crispy_forms.layout import HTML, Column, Div, Layout, Row
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.forms import DATE, _helper
from metrics.choices import Period
from metrics.views_dashboard import DashboardFilterForm
from renewals.choices import CounterOfferStatus, Outcome, ReasonCode, RenewalStage, WinBackStatus
from renewals.models import (
    FORECAST_FIELDS,
    INTERVIEW_FIELDS,
    CounterOffer,
    ExitInterview,
    Renewal,
)
from renewals.services.closing import next_term_end

_SMALL_SELECT = {"class": "form-select form-select-sm"}


class RenewalForm(forms.ModelForm):
    """The owner's forecast of an open renewal."""

    class Meta:
        model = Renewal
        fields = FORECAST_FIELDS
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stage = self.fields["stage"]
        stage.choices = [c for c in RenewalStage.choices if c[0] != RenewalStage.CLOSED]  # type: ignore[attr-defined]
        self.fields["probability"].required = False
        self.fields["probability"].help_text = _(
            "Leave empty for the category's usual probability."
        )
        self.fields["expected_arr"].help_text = _(
            "Empty: the current %(arr)s %(currency)s ARR."
        ) % {"arr": f"{self.instance.arr:,.2f}", "currency": self.instance.currency}
        self.helper = _helper(
            _("Save forecast"),
            layout=Layout(
                Row(Column("stage"), Column("forecast_category"), Column("probability")),
                Row(Column("expected_outcome"), Column("expected_arr")),
                "notes",
            ),
        )

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        # A new category with the old probability left as it was takes the category's own.
        untouched = (
            "forecast_category" in self.changed_data and "probability" not in self.changed_data
        )
        if data.get("probability") is None or untouched:
            data.pop("probability", None)
        return data


class RenewalCloseForm(forms.Form):
    """How the renewal went. The next term defaults to the current line's licenses, price and
    length; a churn or contraction needs its reason."""

    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=Outcome.choices, widget=forms.RadioSelect
    )
    quantity = forms.IntegerField(label=_("Licenses in the next term"), min_value=1, required=False)
    unit_price = forms.DecimalField(
        label=_("Price per license per billing period"),
        min_value=0,
        max_digits=14,
        decimal_places=2,
        required=False,
    )
    term_end = forms.DateField(label=_("Next term ends"), widget=DATE, required=False)
    reason = forms.ChoiceField(
        label=_("Reason"),
        choices=[("", _("—")), *ReasonCode.choices],
        required=False,
        help_text=_("Required for a churn or a contraction."),
    )
    competitor = forms.CharField(label=_("Competitor moved to"), max_length=120, required=False)
    reason_note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, renewal: Renewal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        line = renewal.subscription
        self.initial.setdefault("quantity", line.quantity)
        self.initial.setdefault("unit_price", line.unit_price)
        self.initial.setdefault("term_end", next_term_end(line, start=renewal.renewal_date))
        if renewal.expected_outcome:
            self.initial.setdefault("outcome", renewal.expected_outcome)
        self.helper = _helper(
            _("Close the renewal"),
            layout=Layout(
                "outcome",
                HTML(
                    '<p class="small text-secondary">'
                    + str(
                        _(
                            "A renewal starts the next term on the renewal date with these "
                            "licenses and price (the discount and billing period carry over). "
                            "A churn cancels the line on the renewal date."
                        )
                    )
                    + "</p>"
                ),
                Div(
                    Row(Column("quantity"), Column("unit_price"), Column("term_end")),
                    css_class="js-next-term",
                ),
                Row(Column("reason"), Column("competitor")),
                "reason_note",
            ),
        )
        self.helper.attrs = {"data-testid": "close-form"}

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "outcome": data["outcome"],
            "quantity": data.get("quantity"),
            "unit_price": data.get("unit_price"),
            "term_end": data.get("term_end"),
            "reason": data.get("reason") or "",
            "competitor": data.get("competitor") or "",
            "reason_note": data.get("reason_note") or "",
        }


class ReasonForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=ReasonCode.choices)
    competitor = forms.CharField(label=_("Competitor moved to"), max_length=120, required=False)
    reason_note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            _("Save the reason"),
            layout=Layout(Row(Column("reason"), Column("competitor")), "reason_note"),
        )


class CounterOfferForm(forms.ModelForm):
    class Meta:
        model = CounterOffer
        fields = ["kind", "description", "value", "offered_on", "status"]
        widgets = {"offered_on": DATE}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("offered_on", timezone.localdate())
        self.helper = _helper(
            _("Save the offer"),
            layout=Layout(
                Row(Column("kind"), Column("value"), Column("offered_on"), Column("status")),
                "description",
            ),
        )


class CounterOfferDecideForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (CounterOfferStatus.ACCEPTED, CounterOfferStatus.ACCEPTED.label),
            (CounterOfferStatus.DECLINED, CounterOfferStatus.DECLINED.label),
        ]
    )


class ExitInterviewForm(forms.ModelForm):
    """The standard exit interview (SPEC §7)."""

    class Meta:
        model = ExitInterview
        fields = INTERVIEW_FIELDS
        widgets = {
            "interviewed_on": DATE,
            **{
                name: forms.Textarea(attrs={"rows": 2})
                for name in (
                    "why_cancel",
                    "used_for",
                    "biggest_benefit",
                    "how_to_improve",
                    "communication_note",
                )
            },
        }

    def __init__(self, *args: Any, renewal: Renewal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        contact = self.fields["contact"]
        contact.queryset = renewal.account.contacts.order_by(  # type: ignore[attr-defined]
            "-is_primary", "last_name", "first_name"
        )
        if not self.instance.pk:
            self.initial.setdefault("moving_to", renewal.competitor)
        self.helper = _helper(
            _("Save the interview"),
            layout=Layout(
                Row(Column("contact"), Column("interviewed_on")),
                "why_cancel",
                "used_for",
                "biggest_benefit",
                "how_to_improve",
                Row(Column("communication"), Column("communication_note", css_class="col-md-8")),
                Row(Column("moving_to"), Column("would_return")),
            ),
        )


class WinBackForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Win-back"),
        choices=[("", _("Not pursued")), *WinBackStatus.choices],
        required=False,
    )
    next_on = forms.DateField(label=_("Approach again on"), widget=DATE, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(_("Save"), layout=Layout(Row(Column("status"), Column("next_on"))))


BY_CHOICES = [(Period.MONTH, _("By month")), (Period.QUARTER, _("By quarter"))]


class RetentionFilterForm(DashboardFilterForm):
    """The dashboard's segment filter, with months or quarters."""

    by = forms.ChoiceField(
        label=_("Periods"),
        choices=BY_CHOICES,
        required=False,
        widget=forms.Select(attrs=_SMALL_SELECT),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["period"], self.fields["month"]
