"""Forms of the ingestion pages: sources, the feature catalogue, the events CSV upload."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from metrics.models import Feature


class SourceForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("e.g. “web app”."))


class FeatureForm(forms.ModelForm):
    plans_text = forms.CharField(
        label=_("Plans that include it"),
        required=False,
        help_text=_("Plan names separated by commas; empty means every plan."),
    )
    event_names_text = forms.CharField(
        label=_("Event names"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One event name per line; these events count as use of the feature."),
    )

    class Meta:
        model = Feature
        fields = ["key", "name", "description", "release_date", "is_core", "is_key"]
        widgets = {
            "release_date": forms.DateInput(attrs={"type": "date"}),
            "description": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["plans_text"].initial = ", ".join(self.instance.plans or [])
            self.fields["event_names_text"].initial = "\n".join(
                sorted(self.instance.events.values_list("event_name", flat=True))
            )

    def clean_plans_text(self) -> list[str]:
        text = self.cleaned_data.get("plans_text") or ""
        return [p.strip() for p in text.split(",") if p.strip()]

    def clean_event_names_text(self) -> list[str]:
        text = self.cleaned_data.get("event_names_text") or ""
        names = [n.strip() for n in text.splitlines() if n.strip()]
        too_long = [n for n in names if len(n) > 200]
        if too_long:
            raise forms.ValidationError(_("Event names are at most 200 characters."))
        return names


class EventUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8, comma- or semicolon-separated, header first."),
    )
