"""Forms of the scorecard editor and the backtest: validation and layout."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from crispy_forms.bootstrap import InlineCheckboxes
from crispy_forms.layout import Column, Fieldset, Layout, Row
from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.choices import BusinessModel, LifecycleStage, Tier, TouchModel
from accounts.forms import _helper
from health.choices import VersionStatus
from health.measures import MeasureKind, measure_kind, measure_kinds
from health.models import Measure, MeasureGroup, Scorecard, ScorecardVersion
from health.services.backtest import HORIZON_DAYS, WINDOWS
from health.services.scorecards import measure_errors
from metrics.models import Feature

CRITERIA_CHOICES = {
    "tiers": Tier.choices,
    "touch_models": TouchModel.choices,
    "business_models": BusinessModel.choices,
    # A churned account is scored by nobody: its stage is no criterion.
    "lifecycle_stages": [c for c in LifecycleStage.choices if c[0] != LifecycleStage.CHURNED],
}
INLINE_CHECKS = forms.CheckboxSelectMultiple


def _weight_field(**kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(
        min_value=Decimal(0), max_value=Decimal(100), max_digits=5, decimal_places=2, **kwargs
    )


# Scorecards --------------------------------------------------------------------------------


class ScorecardForm(forms.ModelForm):
    """A scorecard's settings: name, priority, default, and the segment it scores."""

    tiers = forms.MultipleChoiceField(
        label=_("Tiers"), choices=CRITERIA_CHOICES["tiers"], required=False, widget=INLINE_CHECKS
    )
    touch_models = forms.MultipleChoiceField(
        label=_("Touch models"),
        choices=CRITERIA_CHOICES["touch_models"],
        required=False,
        widget=INLINE_CHECKS,
    )
    business_models = forms.MultipleChoiceField(
        label=_("B2B or B2C"),
        choices=CRITERIA_CHOICES["business_models"],
        required=False,
        widget=INLINE_CHECKS,
    )
    lifecycle_stages = forms.MultipleChoiceField(
        label=_("Lifecycle stages"),
        choices=CRITERIA_CHOICES["lifecycle_stages"],
        required=False,
        widget=INLINE_CHECKS,
    )

    class Meta:
        model = Scorecard
        fields = [
            "name",
            "description",
            "priority",
            "is_default",
            "tiers",
            "touch_models",
            "business_models",
            "lifecycle_stages",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        help_texts = {
            "priority": _("Lower numbers are tried first."),
            "is_default": _(
                "Scores every account that no other scorecard claims; exactly one scorecard "
                "is the default."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            _("Save scorecard"),
            layout=Layout(*self._layout()),
        )

    def _layout(self) -> list[Any]:
        return [
            Row(Column("name", css_class="col-md-8"), Column("priority")),
            "description",
            "is_default",
            Fieldset(
                _("Segment (a blank line matches any value)"),
                Row(Column(InlineCheckboxes("tiers")), Column(InlineCheckboxes("touch_models"))),
                Row(
                    Column(InlineCheckboxes("business_models")),
                    Column(InlineCheckboxes("lifecycle_stages")),
                ),
            ),
        ]


class ScorecardCreateForm(ScorecardForm):
    """A new scorecard, empty or starting from the starter measures or another scorecard."""

    start_from = forms.ChoiceField(label=_("Start from"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[str, Any]] = [
            ("", _("Nothing: I add the groups and measures")),
            ("starter", _("The starter measures (usage, sentiment, support, money, people)")),
        ]
        choices += [
            (str(sc.pk), _("A copy of “%(name)s”") % {"name": sc.name})
            for sc in Scorecard.objects.order_by("name")
        ]
        self.fields["start_from"].choices = choices  # type: ignore[attr-defined]
        self.initial.setdefault("start_from", "starter")
        self.helper.inputs[0].value = _("Create scorecard")

    def _layout(self) -> list[Any]:
        return ["start_from", *super()._layout()]

    def start(self) -> Scorecard | str:
        value = self.cleaned_data.get("start_from") or ""
        if value.isdigit():
            return Scorecard.objects.filter(pk=int(value)).first() or ""
        return value


class ScorecardDuplicateForm(forms.Form):
    name = forms.CharField(label=_("Name of the copy"), max_length=120)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(_("Duplicate"))

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if Scorecard.objects.filter(name=name).exists():
            raise forms.ValidationError(_("A scorecard with this name exists already."))
        return name


# Drafts ------------------------------------------------------------------------------------


class GroupForm(forms.ModelForm):
    class Meta:
        model = MeasureGroup
        fields = ["name", "weight"]
        help_texts = {"weight": _("Percent of the scorecard; the groups add up to 100.")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            _("Save group"), layout=Layout(Row(Column("name", css_class="col-md-8"), "weight"))
        )


class BandsForm(forms.ModelForm):
    """The colour bands of a draft: red up to, yellow up to, green above."""

    class Meta:
        model = ScorecardVersion
        fields = ["red_max", "yellow_max"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            _("Save colour bands"), layout=Layout(Row(Column("red_max"), Column("yellow_max")))
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        red, yellow = data.get("red_max"), data.get("yellow_max")
        if red is not None and yellow is not None and not red < yellow:
            self.add_error("yellow_max", _("Red must end below where yellow ends."))
        return data


class PublishForm(forms.Form):
    note = forms.CharField(
        label=_("What changed"),
        max_length=255,
        required=False,
        help_text=_("Shown in the version history."),
    )


class WeightsForm(forms.Form):
    """Every weight of a draft at once: g<id> for groups, m<id> for measures."""

    def __init__(self, *args: Any, version: ScorecardVersion, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for group in version.groups.all():
            self.fields[f"g{group.pk}"] = _weight_field(required=False)
        for measure in Measure.objects.filter(group__version=version):
            self.fields[f"m{measure.pk}"] = _weight_field(required=False)

    def weights(self, prefix: str) -> dict[int, Decimal]:
        return {
            int(name[1:]): value
            for name, value in self.cleaned_data.items()
            if name.startswith(prefix) and value is not None
        }


class MeasureForm(forms.ModelForm):
    """A measure: its kind (from the registry) and options, weight and scoring.

    Bands are rows of (from, score); blank rows are dropped. A new measure, or one whose
    kind changes, starts from the kind's default scoring.
    """

    class Meta:
        model = Measure
        fields = ["kind", "label", "weight", "method", "low", "high"]
        widgets = {"method": forms.RadioSelect}
        help_texts = {
            "label": _("Leave blank to use the measure's name."),
            "weight": _("Percent of its group; the measures of a group add up to 100."),
            "low": _("At or beyond this value the measure scores 0."),
            "high": _("At or beyond this value it scores 100; below “value scoring 0” for "
                      "“less is better”."),
        }  # fmt: skip

    EXTRA_BANDS = 2
    MIN_BANDS = 5

    def __init__(self, *args: Any, kind_key: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kinds = measure_kinds()
        self.fields["kind"] = forms.ChoiceField(
            label=_("Measure"), choices=[(k, v.label) for k, v in kinds.items()]
        )
        instance: Measure = self.instance
        if self.is_bound:
            kind_key = str(self.data.get("kind") or instance.kind)
        else:
            kind_key = kind_key or instance.kind
            if kind_key and kind_key != instance.kind:
                self.initial.update(self._defaults(kind_key))
        self.kind: MeasureKind | None = measure_kind(kind_key or "")
        options = instance.options or {}
        for option in self.kind.options if self.kind else ():
            self.fields[f"opt_{option.name}"] = self._option_field(option)
            self.initial.setdefault(f"opt_{option.name}", options.get(option.name, ""))
        bands = self.initial.get("bands", instance.bands) or []
        rows = max(len(bands) + self.EXTRA_BANDS, self.MIN_BANDS)
        for i in range(rows):
            self.fields[f"band_from_{i}"] = forms.DecimalField(
                label=_("From"), required=False, max_digits=12, decimal_places=2
            )
            self.fields[f"band_score_{i}"] = forms.DecimalField(
                label=_("Score"),
                required=False,
                min_value=Decimal(0),
                max_value=Decimal(100),
                max_digits=5,
                decimal_places=2,
            )
        for i, (start, score) in enumerate(_sorted_bands(bands)):
            self.initial.setdefault(f"band_from_{i}", start)
            self.initial.setdefault(f"band_score_{i}", score)
        self.band_rows = rows

    @staticmethod
    def _defaults(kind_key: str) -> dict[str, Any]:
        kind = measure_kind(kind_key)
        if kind is None:
            return {}
        scoring = kind.default_scoring
        return {
            "kind": kind_key,
            "method": scoring["method"],
            "low": scoring.get("low"),
            "high": scoring.get("high"),
            "bands": scoring.get("bands", []),
        }

    @staticmethod
    def _option_field(option: Any) -> forms.Field:
        if option.name == "feature":
            features = list(Feature.objects.order_by("name").values_list("key", "name"))
            if features:
                return forms.ChoiceField(
                    label=option.label,
                    help_text=option.help,
                    required=option.required,
                    choices=[("", "—"), *features],
                )
        return forms.CharField(
            label=option.label, help_text=option.help, required=option.required, max_length=200
        )

    def band_fields(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"band_from_{i}"], self[f"band_score_{i}"]) for i in range(self.band_rows)]

    def option_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith("opt_")]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        bands = []
        for i in range(self.band_rows):
            start, score = data.get(f"band_from_{i}"), data.get(f"band_score_{i}")
            if start is None and score is None:
                continue
            if start is None or score is None:
                self.add_error(
                    f"band_from_{i}" if start is None else f"band_score_{i}",
                    _("Enter both a start and a score, or neither."),
                )
                continue
            bands.append({"from": _plain(start), "score": _number(score)})
        measure: Measure = self.instance
        measure.bands = sorted(bands, key=lambda b: Decimal(b["from"]))
        if self.kind is not None:
            measure.options = {
                o.name: str(data.get(f"opt_{o.name}") or "").strip() for o in self.kind.options
            }
        if self.errors:
            return data
        # The instance takes the other fields after clean(): check a stand-in with them all.
        probe = Measure(
            kind=data.get("kind") or "",
            method=data.get("method") or measure.method,
            low=data.get("low"),
            high=data.get("high"),
            bands=measure.bands,
            options=measure.options,
        )
        for name, messages in measure_errors(probe).items():
            field = name if name in ("kind", "low", "high") else f"opt_{name}"
            self.add_error(field if field in self.fields else None, messages)
        return data


def _sorted_bands(bands: list[dict[str, Any]]) -> list[tuple[Decimal, Decimal]]:
    out = []
    for band in bands:
        try:
            out.append((Decimal(str(band["from"])), Decimal(str(band["score"]))))
        except (KeyError, TypeError, ArithmeticError, ValueError):
            continue
    return sorted(out)


def _plain(value: Decimal) -> str:
    """12.50 → "12.5", 10.00 → "10" (the way the bands are stored)."""
    return f"{value.normalize():f}"


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


# The backtest ------------------------------------------------------------------------------


class BacktestForm(forms.Form):
    scorecard = forms.ModelChoiceField(
        label=_("Scorecard"),
        queryset=Scorecard.objects.order_by("-is_default", "priority", "name"),
        required=False,
        empty_label=None,
    )
    version = forms.TypedChoiceField(label=_("Version"), coerce=int, required=False)
    days = forms.TypedChoiceField(
        label=_("Outcomes of the last"),
        coerce=int,
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["days"].choices = [  # type: ignore[attr-defined]
            (n, gettext("%(n)s days") % {"n": n}) for n in WINDOWS
        ]
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select form-select-sm"
        self.horizons = HORIZON_DAYS

    def set_versions(self, scorecard: Scorecard | None) -> None:
        """Offer the chosen scorecard's versions (one query)."""
        versions = list(scorecard.versions.order_by("-number")) if scorecard else []
        self.fields["version"].choices = [  # type: ignore[attr-defined]
            (v.pk, f"v{v.number} · {v.get_status_display()}") for v in versions
        ]
        self.versions = versions

    def chosen_version(self) -> ScorecardVersion | None:
        """The version asked for, else the published one, else the draft."""
        wanted = self.cleaned_data.get("version") if self.is_valid() else None
        by_pk = {v.pk: v for v in self.versions}
        chosen = by_pk.get(wanted) if wanted else None  # type: ignore[arg-type]
        for status in (VersionStatus.PUBLISHED, VersionStatus.DRAFT):
            chosen = chosen or next((v for v in self.versions if v.status == status), None)
        chosen = chosen or (self.versions[0] if self.versions else None)
        if chosen is not None:
            # The select shows the version the page reports on.
            self.data = self.data.copy()
            self.data["version"] = str(chosen.pk)
        return chosen
