"""Forms of the onboarding pages: validation and layout (the crispy FormHelper lives here)."""

from __future__ import annotations

from typing import Any

from crispy_forms.layout import Column, Layout, Row
from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.forms import DATE, _helper
from accounts.models import Account
from metrics.models import Feature
from metrics.views_dashboard import DashboardFilterForm
from onboarding.choices import CancelReason, CriterionKind
from onboarding.models import (
    OnboardingPlan,
    OnboardingTemplate,
    PlanMilestone,
    PlanTask,
    TemplateCriterion,
    TemplateMilestone,
    TemplateTask,
)
from onboarding.selectors import template_for_account

# Plans ---------------------------------------------------------------------------------


class PlanStartForm(forms.Form):
    """Start a plan by hand: the best matching template is proposed."""

    template = forms.ModelChoiceField(
        label=_("Template"), queryset=OnboardingTemplate.objects.filter(is_active=True)
    )
    started_on = forms.DateField(
        label=_("Start date"),
        widget=DATE,
        help_text=_("Due dates count from this day; it may lie up to a year back."),
    )

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        best = template_for_account(account=account)
        self.initial.setdefault("template", best.pk if best else None)
        self.initial.setdefault("started_on", timezone.localdate())
        self.helper = _helper(
            _("Start onboarding"), layout=Layout(Row(Column("template"), Column("started_on")))
        )


class PlanCancelForm(forms.Form):
    reason = forms.ChoiceField(label=_("Why"), choices=CancelReason.choices)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(_("Cancel the plan"))
        self.helper.inputs[0].field_classes = "btn btn-danger"


class PlanTaskForm(forms.ModelForm):
    """Add a task to a running plan or change one (due date, side, milestone)."""

    class Meta:
        model = PlanTask
        fields = ["milestone", "title", "description", "side", "due_on"]
        widgets = {"due_on": DATE, "description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, plan: OnboardingPlan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["milestone"].queryset = PlanMilestone.objects.filter(plan=plan)  # type: ignore[attr-defined]
        self.helper = _helper(
            _("Save task"),
            layout=Layout(
                Row(Column("title", css_class="col-md-6"), Column("milestone")),
                "description",
                Row(Column("side"), Column("due_on")),
            ),
        )


class ShareLinkForm(forms.Form):
    contact = forms.ModelChoiceField(
        label=_("For contact"),
        queryset=None,
        required=False,
        empty_label=_("Anyone with the link"),
        help_text=_("Ticks through this link are recorded under this contact's name."),
    )
    days = forms.IntegerField(
        label=_("Valid for (days)"), min_value=1, max_value=settings.ONBOARDING_SHARE_LINK_MAX_DAYS
    )
    send_email = forms.BooleanField(
        label=_("Email the link to the contact"), required=False, initial=True
    )

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = account.contacts.order_by(  # type: ignore[attr-defined]
            "-is_primary", "last_name", "first_name"
        )
        self.fields["days"].max_value = settings.ONBOARDING_SHARE_LINK_MAX_DAYS  # type: ignore[attr-defined]
        self.initial.setdefault("days", settings.ONBOARDING_SHARE_LINK_DAYS)
        self.helper = _helper(
            _("Create link"),
            layout=Layout(Row(Column("contact"), Column("days")), "send_email"),
        )


# Templates -----------------------------------------------------------------------------


class TemplateForm(forms.ModelForm):
    class Meta:
        model = OnboardingTemplate
        fields = [
            "name",
            "description",
            "touch_model",
            "tier",
            "business_model",
            "priority",
            "is_active",
            "auto_start",
            "activation_match",
            "behind_after_days",
            "stuck_after_days",
            "first_qbr_after_days",
            "next_stage",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("touch_model", "tier", "business_model"):
            self.fields[name].choices = [("", _("Any"))] + [  # type: ignore[attr-defined]
                c
                for c in self.fields[name].choices
                if c[0] != ""  # type: ignore[attr-defined]
            ]
        self.helper = _helper(
            _("Save template"),
            layout=Layout(
                Row(Column("name", css_class="col-md-6"), Column("priority")),
                "description",
                Row(Column("touch_model"), Column("tier"), Column("business_model")),
                Row(Column("is_active"), Column("auto_start")),
                Row(
                    Column("activation_match"),
                    Column("behind_after_days"),
                    Column("stuck_after_days"),
                ),
                Row(Column("first_qbr_after_days"), Column("next_stage")),
            ),
        )


class TemplateDuplicateForm(forms.Form):
    name = forms.CharField(label=_("Name of the copy"), max_length=200)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(_("Duplicate"))


class TemplateMilestoneForm(forms.ModelForm):
    class Meta:
        model = TemplateMilestone
        fields = ["name", "description", "due_day", "position"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["position"].required = False
        self.helper = _helper(
            _("Save milestone"),
            layout=Layout(
                Row(Column("name", css_class="col-md-6"), Column("due_day"), Column("position")),
                "description",
            ),
        )

    def clean_position(self) -> int:
        return self.cleaned_data.get("position") or 0


class TemplateTaskForm(forms.ModelForm):
    class Meta:
        model = TemplateTask
        fields = ["milestone", "title", "description", "side", "due_day", "position"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, template: OnboardingTemplate, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["milestone"].queryset = template.milestones.all()  # type: ignore[attr-defined]
        self.fields["position"].required = False
        self.helper = _helper(
            _("Save task"),
            layout=Layout(
                Row(Column("title", css_class="col-md-6"), Column("milestone")),
                "description",
                Row(Column("side"), Column("due_day"), Column("position")),
            ),
        )

    def clean_position(self) -> int:
        return self.cleaned_data.get("position") or 0


class TemplateCriterionForm(forms.ModelForm):
    class Meta:
        model = TemplateCriterion
        fields = ["role", "kind", "feature", "milestone", "threshold"]

    def __init__(self, *args: Any, template: OnboardingTemplate, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["milestone"].queryset = template.milestones.all()  # type: ignore[attr-defined]
        self.fields["feature"].queryset = Feature.objects.order_by("name")  # type: ignore[attr-defined]
        self.fields["feature"].help_text = _(
            "For the feature kinds. An event counts through the feature it is mapped to in "
            "the feature catalogue."
        )
        self.fields["milestone"].help_text = _("For “Milestone completed”.")
        self.fields["threshold"].help_text = _(
            "Counted since the plan started (ignored for a milestone)."
        )
        self.helper = _helper(
            _("Save criterion"),
            layout=Layout(
                Row(Column("role"), Column("kind")),
                Row(Column("feature"), Column("milestone"), Column("threshold")),
            ),
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if kind in CriterionKind.values:
            if CriterionKind(kind).needs_feature and not data.get("feature"):
                self.add_error("feature", _("Choose the feature this criterion counts."))
            if kind == CriterionKind.MILESTONE and not data.get("milestone"):
                self.add_error("milestone", _("Choose the milestone."))
        return data


# Reports -------------------------------------------------------------------------------

REPORT_MONTHS = (6, 12, 24)


class ReportFilterForm(DashboardFilterForm):
    """The dashboard's segment filter, with the span of cohorts and a template."""

    months = forms.TypedChoiceField(
        label=_("Cohorts"),
        coerce=int,
        required=False,
        choices=[(n, _("Last %(n)s months") % {"n": n}) for n in REPORT_MONTHS],
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    template = forms.ModelChoiceField(
        label=_("Template"),
        queryset=OnboardingTemplate.objects.order_by("name"),
        required=False,
        empty_label=_("All templates"),
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["period"], self.fields["month"]
