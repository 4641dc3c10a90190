"""Forms of the health app's pages (the scorecard editor's live in forms_scorecards)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row, Submit
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from health.choices import Color, Sentiment

DATE = forms.DateInput(attrs={"type": "date"})


def _in_days(days: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=days)


class OverrideForm(forms.Form):
    score = forms.DecimalField(
        label=_("Score"), min_value=0, max_value=100, decimal_places=0, max_digits=3
    )
    expires_on = forms.DateField(
        label=_("Until"),
        widget=DATE,
        help_text=_("The computed score counts again the day after."),
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"expires_on": _in_days(30)})
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        # The form tag is the page's: the same form posts from the 360 panel and its page.
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Row(Column("score", css_class="col-4"), Column("expires_on", css_class="col-8")),
            "reason",
            Submit("save", _("Override the score"), css_class="btn-sm"),
        )


class SentimentForm(forms.Form):
    sentiment = forms.ChoiceField(label=_("Sentiment"), choices=Sentiment.choices)
    expires_on = forms.DateField(label=_("Until"), widget=DATE)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"expires_on": _in_days(60), "sentiment": Sentiment.NEUTRAL})
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Row(Column("sentiment", css_class="col-6"), Column("expires_on", css_class="col-6")),
            "reason",
            Submit("save", _("Record the sentiment"), css_class="btn-sm"),
        )


class PortfolioFilterForm(forms.Form):
    """Filters of the portfolio health page (all optional)."""

    mine = forms.BooleanField(label=_("My accounts only"), required=False)
    color = forms.ChoiceField(
        label=_("Colour"), required=False, choices=[("", _("Any colour")), *Color.choices]
    )
    q = forms.CharField(label=_("Search"), required=False)
