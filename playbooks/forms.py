"""Forms of the playbooks pages: parsing and layout. The checks that matter (a trigger's
parameters, what each action kind needs) live in playbooks.services and are called from
`clean()`, so that each error lands next to its field."""

from __future__ import annotations

from typing import Any

from crispy_forms.layout import Column, Layout, Row
from django import forms
from django.core.exceptions import ValidationError
from django.forms import inlineformset_factory
from django.urls import reverse_lazy
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _

from accounts.choices import BusinessModel, LifecycleStage, TaskKind, TaskPriority, Tier, TouchModel
from accounts.forms import _active_users, _helper
from accounts.models import Tag
from metrics.models import Feature
from playbooks.choices import ActionKind, AssigneeRole, EndpointFormat, RuleMode
from playbooks.models import (
    PlaybookStep,
    PlaybookTemplate,
    Rule,
    RuleAction,
    WebhookEndpoint,
)
from playbooks.selectors import trigger_choices
from playbooks.services.playbooks import StepSpec, step_clean
from playbooks.services.rules import INT_MAX, ActionSpec, action_clean, trigger_params_clean
from playbooks.triggers import METRICS, Param, Trigger, trigger, triggers

CHECKBOXES = forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"})


def _add_errors(form: forms.BaseForm, exc: ValidationError, names: dict[str, str]) -> None:
    """A service's ValidationError (keyed by setting) as errors of the form's fields."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for key, errors in exc.message_dict.items():
        name = names.get(key, key)
        form.add_error(name if name in form.fields else None, errors)


# Rules ---------------------------------------------------------------------------------------


class RuleForm(forms.ModelForm):
    """Name, trigger, mode, cooldown and the segment scope of a rule."""

    trigger = forms.ChoiceField(label=_("Trigger"))
    tiers = forms.MultipleChoiceField(
        label=_("Tiers"), choices=Tier.choices, required=False, widget=CHECKBOXES
    )
    touch_models = forms.MultipleChoiceField(
        label=_("Touch models"), choices=TouchModel.choices, required=False, widget=CHECKBOXES
    )
    business_models = forms.MultipleChoiceField(
        label=_("B2B or B2C"), choices=BusinessModel.choices, required=False, widget=CHECKBOXES
    )
    lifecycle_stages = forms.MultipleChoiceField(
        label=_("Lifecycle stages"),
        choices=LifecycleStage.choices,
        required=False,
        widget=CHECKBOXES,
    )
    tags = forms.MultipleChoiceField(
        label=_("With any of these tags"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )

    class Meta:
        model = Rule
        fields = [
            "name",
            "description",
            "trigger",
            "mode",
            "cooldown_days",
            "tiers",
            "touch_models",
            "business_models",
            "lifecycle_stages",
            "min_mrr",
            "max_mrr",
            "tags",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        help_texts = {
            "cooldown_days": _(
                "After firing for an account, the rule leaves that account alone this long."
            ),
            "mode": _("Dry run records which accounts match and does nothing else."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["trigger"]
        field.choices = [("", "---------"), *trigger_choices(triggers())]  # type: ignore[attr-defined]
        field.widget.attrs.update(
            {
                "hx-get": str(reverse_lazy("playbooks:trigger_params")),
                "hx-target": "#trigger-params",
                "hx-trigger": "change",
                "data-testid": "trigger-select",
            }
        )
        # Churned accounts are out of every scope; a stage saved before stays choosable.
        saved = self.instance.lifecycle_stages or []
        self.fields["lifecycle_stages"].choices = [  # type: ignore[attr-defined]
            c for c in LifecycleStage.choices if c[0] != LifecycleStage.CHURNED or c[0] in saved
        ]
        names = list(Tag.objects.order_by("name").values_list("name", flat=True))
        names += [t for t in (self.instance.tags or []) if t not in names]
        self.fields["tags"].choices = [(n, n) for n in names]  # type: ignore[attr-defined]
        self.fields["tags"].help_text = _("None chosen: any tags. Hold Ctrl or ⌘ for several.")
        for name in ("tiers", "touch_models", "business_models", "lifecycle_stages"):
            self.fields[name].help_text = _("None ticked: all.")
        self.fields["lifecycle_stages"].help_text = _(
            "None ticked: all. Churned accounts are never matched."
        )

    def scope_rule(self) -> Rule:
        """An unsaved rule with the scope and trigger of the form (for the draft preview)."""
        data = self.cleaned_data
        return Rule(
            name=data.get("name") or "",
            trigger=data.get("trigger") or "",
            tiers=data.get("tiers") or [],
            touch_models=data.get("touch_models") or [],
            business_models=data.get("business_models") or [],
            lifecycle_stages=data.get("lifecycle_stages") or [],
            min_mrr=data.get("min_mrr"),
            max_mrr=data.get("max_mrr"),
            tags=data.get("tags") or [],
        )


def _default_text(param: Param) -> str:
    if param.default in (None, ""):
        return str(_("Default: none"))
    if param.kind == "choice":
        return str(_("Default: %(v)s") % {"v": dict(param.choices).get(param.default)})
    return str(_("Default: %(v)s") % {"v": param.default})


def _metric_suggestions() -> list[tuple[str, str]]:
    features = Feature.objects.order_by("key").values_list("key", "name")
    return [(k, str(label)) for k, label in METRICS] + [
        (f"feature:{k}", str(name)) for k, name in features
    ]


# Text parameters that are one of a known list; offered as suggestions while typing.
SUGGESTIONS = {("metric_threshold", "metric"): _metric_suggestions}


class TriggerParamsForm(forms.Form):
    """The chosen trigger's parameters, one field per declared `Param`, defaults shown."""

    prefix = "param"

    def __init__(self, *args: Any, trigger_key: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.trigger: Trigger | None = trigger(trigger_key)
        self.params: dict[str, Any] = {}
        self.suggestions: dict[str, list[tuple[str, str]]] = {}
        for param in self.trigger.params if self.trigger else ():
            help_text = " ".join(p for p in (str(param.help or ""), _default_text(param)) if p)
            field: forms.Field
            if param.kind == "int":
                field = forms.IntegerField(min_value=0, max_value=INT_MAX)
            elif param.kind == "decimal":
                field = forms.DecimalField(max_digits=14, decimal_places=4)
            elif param.kind == "choice":
                field = forms.ChoiceField(choices=[(str(k), v) for k, v in param.choices])
            else:
                field = forms.CharField(max_length=500)
                key = (trigger_key, param.name)
                if key in SUGGESTIONS:
                    self.suggestions[param.name] = SUGGESTIONS[key]()
                    field.widget.attrs["list"] = f"suggest-{param.name}"
            field.required = False
            field.label = param.label
            # Crispy renders help text as HTML; a trigger's help may say "feature:<key>".
            field.help_text = escape(help_text)
            field.initial = param.default
            self.fields[param.name] = field

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.trigger is None:
            return data
        raw = {name: value for name, value in data.items() if name in self.fields}
        try:
            self.params = trigger_params_clean(trigger_key=self.trigger.key, params=raw)
        except ValidationError as exc:
            _add_errors(self, exc, {})
        return data


ACTION_FIELDS = {
    ActionKind.CREATE_TASK: (
        "title",
        "description",
        "task_kind",
        "priority",
        "due_days",
        "assignee_role",
        "assignee",
    ),
    ActionKind.START_PLAYBOOK: ("playbook",),
    ActionKind.EMAIL_OWNER: ("note",),
    ActionKind.NOTIFY_LEAD: ("note",),
    ActionKind.CHANGE_STAGE: ("stage",),
    ActionKind.REASSIGN: ("user",),
    ActionKind.WEBHOOK: ("endpoint",),
    ActionKind.SLACK: ("endpoint",),
}
# The service names a setting as the action stores it; the form's field may differ.
ACTION_ERROR_FIELDS = {"kind": "task_kind", "action": "kind"}


class _RowForm(forms.ModelForm):
    """A row of an ordered formset: a new row left as it came is ignored.

    The page's script numbers every row's ORDER before sending, so ORDER (and the Remove
    box) do not make an untouched row count as filled in.
    """

    def has_changed(self) -> bool:
        return any(name not in ("ORDER", "DELETE") for name in self.changed_data)


class ActionForm(_RowForm):
    """One action of a rule: its kind and the settings of that kind (the others hidden)."""

    title = forms.CharField(label=_("Task title"), max_length=255, required=False)
    description = forms.CharField(
        label=_("Task description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The reason the rule matched is added below it."),
    )
    task_kind = forms.ChoiceField(
        label=_("Task type"), choices=TaskKind.choices, initial=TaskKind.FOLLOW_UP, required=False
    )
    priority = forms.ChoiceField(
        label=_("Priority"),
        choices=TaskPriority.choices,
        initial=TaskPriority.NORMAL,
        required=False,
    )
    due_days = forms.IntegerField(
        label=_("Due in (days)"), min_value=0, max_value=3650, initial=2, required=False
    )
    assignee_role = forms.ChoiceField(
        label=_("Assigned to"),
        choices=AssigneeRole.choices,
        initial=AssigneeRole.OWNER,
        required=False,
    )
    assignee = forms.ModelChoiceField(
        label=_("Named user"),
        queryset=_active_users(),
        required=False,
        help_text=_("When assigned to a named user."),
    )
    note = forms.CharField(
        label=_("Note in the email"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    stage = forms.ChoiceField(
        label=_("Move to stage"),
        choices=[("", "---------"), *LifecycleStage.choices],
        required=False,
    )
    user = forms.ModelChoiceField(label=_("Reassign to"), queryset=_active_users(), required=False)

    class Meta:
        model = RuleAction
        fields = ["kind", "playbook", "endpoint"]
        labels = {"kind": _("Action")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].widget.attrs["class"] = "action-kind"
        self.fields["kind"].initial = ActionKind.CREATE_TASK
        self.fields["playbook"].queryset = PlaybookTemplate.objects.order_by("name")  # type: ignore[attr-defined]
        self.fields["playbook"].required = False
        self.fields["endpoint"].queryset = WebhookEndpoint.objects.order_by("name")  # type: ignore[attr-defined]
        self.fields["endpoint"].required = False
        self.fields["endpoint"].label_from_instance = _endpoint_label  # type: ignore[attr-defined]
        self.fields["assignee"].queryset = _active_users()  # type: ignore[attr-defined]
        self.fields["user"].queryset = _active_users()  # type: ignore[attr-defined]
        p = self.instance.params or {} if self.instance.pk else {}
        for name, key in (
            ("title", "title"),
            ("description", "description"),
            ("task_kind", "kind"),
            ("priority", "priority"),
            ("due_days", "due_days"),
            ("assignee_role", "assignee_role"),
            ("assignee", "assignee"),
            ("note", "note"),
            ("stage", "stage"),
            ("user", "user"),
        ):
            if key in p:
                self.initial[name] = p[key]
        self.spec: ActionSpec | None = None

    def setting_fields(self) -> list[tuple[forms.BoundField, list[str]]]:
        """Each setting once, with the kinds that use it (the page shows the chosen kind's)."""
        kinds: dict[str, list[str]] = {}
        for kind, names in ACTION_FIELDS.items():
            for name in names:
                kinds.setdefault(name, []).append(str(kind))
        return [(self[name], used_by) for name, used_by in kinds.items()]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if not kind:
            return data
        spec = ActionSpec(
            kind=kind,
            params={
                "title": data.get("title"),
                "description": data.get("description"),
                "kind": data.get("task_kind"),
                "priority": data.get("priority"),
                "due_days": data.get("due_days"),
                "assignee_role": data.get("assignee_role"),
                "assignee": data["assignee"].pk if data.get("assignee") else None,
                "note": data.get("note"),
                "stage": data.get("stage"),
                "user": data["user"].pk if data.get("user") else None,
            },
            playbook_id=data["playbook"].pk if data.get("playbook") else None,
            endpoint_id=data["endpoint"].pk if data.get("endpoint") else None,
            id=self.instance.pk,
        )
        try:
            self.spec = action_clean(spec=spec)
        except ValidationError as exc:
            _add_errors(self, exc, ACTION_ERROR_FIELDS)
        return data

    def _post_clean(self) -> None:
        # The action is saved by playbooks.services.rules, not by the model form.
        pass


def _endpoint_label(endpoint: WebhookEndpoint) -> str:
    state = "" if endpoint.is_active else f" ({_('disabled')})"
    kind = "Slack" if endpoint.format == EndpointFormat.SLACK else "JSON"
    return f"{endpoint.name} · {kind}{state}"


class _OrderedFormSet(forms.BaseInlineFormSet):
    """Rows in the order the editor shows them (its script numbers the hidden ORDER)."""

    def add_fields(self, form: forms.BaseForm, index: int | None) -> None:
        super().add_fields(form, index)
        form.fields["ORDER"].widget = forms.HiddenInput()
        if index is not None and index < self.initial_form_count():
            form.fields["ORDER"].initial = index + 1


class BaseActionFormSet(_OrderedFormSet):
    def ordered_specs(self) -> list[ActionSpec]:
        """The actions kept, in the order the editor put them (a valid formset)."""
        return [f.spec for f in self.ordered_forms if f.spec is not None]  # type: ignore[attr-defined]


def action_formset(extra: int) -> type[forms.BaseInlineFormSet]:
    return inlineformset_factory(
        Rule,
        RuleAction,
        form=ActionForm,
        formset=BaseActionFormSet,
        fields=["kind", "playbook", "endpoint"],
        extra=extra,
        can_delete=True,
        can_order=True,
        max_num=20,
        validate_max=True,
    )


class ModeForm(forms.Form):
    mode = forms.ChoiceField(choices=RuleMode.choices)


# Playbooks -----------------------------------------------------------------------------------


class PlaybookForm(forms.ModelForm):
    class Meta:
        model = PlaybookTemplate
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class StepForm(_RowForm):
    class Meta:
        model = PlaybookStep
        fields = [
            "title",
            "description",
            "kind",
            "priority",
            "due_days",
            "assignee_role",
            "assignee",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 1})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = _active_users()  # type: ignore[attr-defined]
        self.fields["assignee"].help_text = _("When assigned to a named user.")
        self.spec: StepSpec | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if any(name in self.errors for name in ("title", "kind", "priority", "due_days")):
            return data
        spec = StepSpec(
            title=data.get("title") or "",
            description=data.get("description") or "",
            kind=data.get("kind") or "",
            priority=data.get("priority") or "",
            due_days=data.get("due_days") or 0,
            assignee_role=data.get("assignee_role") or "",
            assignee_id=data["assignee"].pk if data.get("assignee") else None,
            id=self.instance.pk,
        )
        try:
            self.spec = step_clean(spec=spec)
        except ValidationError as exc:
            _add_errors(self, exc, {})
        return data

    def _post_clean(self) -> None:
        # Steps are saved by playbooks.services.playbooks, not by the model form.
        pass


class BaseStepFormSet(_OrderedFormSet):
    def ordered_specs(self) -> list[StepSpec]:
        return [f.spec for f in self.ordered_forms if f.spec is not None]  # type: ignore[attr-defined]


def step_formset(extra: int) -> type[forms.BaseInlineFormSet]:
    return inlineformset_factory(
        PlaybookTemplate,
        PlaybookStep,
        form=StepForm,
        formset=BaseStepFormSet,
        fields=StepForm.Meta.fields,
        extra=extra,
        can_delete=True,
        can_order=True,
        max_num=50,
        validate_max=True,
    )


# Webhooks ------------------------------------------------------------------------------------


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "format", "is_active"]
        help_texts = {
            "format": _(
                "JSON deliveries are signed with the endpoint's secret; Slack-compatible "
                "ones post a message text."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["url"].help_text = _(
            "Where the platform posts, e.g. https://hooks.example.com/csp."
        )
        self.helper = _helper(
            _("Save webhook"),
            layout=Layout(Row(Column("name"), Column("format")), "url", "is_active"),
        )
