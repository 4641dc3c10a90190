"""The playbooks API: rules (read, write, preview, run now), their runs, the trigger
catalogue and each person's own notifications."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from playbooks.api.serializers import (
    MarkedSerializer,
    MarkReadSerializer,
    NotificationSerializer,
    PreviewSerializer,
    RuleRunDetailSerializer,
    RuleRunSerializer,
    RuleSerializer,
    RuleWriteSerializer,
    TriggerSerializer,
)
from playbooks.choices import RuleMode, RunSource
from playbooks.models import Notification, Rule, RuleRun
from playbooks.services import notify
from playbooks.services.evaluate import rule_evaluate, rule_matches
from playbooks.services.rules import ActionSpec, rule_delete, rule_save
from playbooks.triggers import triggers

PREVIEW_LIMIT = 500


class RuleFilterSet(filters.FilterSet):
    mode = filters.ChoiceFilter(choices=RuleMode.choices)
    trigger = filters.CharFilter()

    class Meta:
        model = Rule
        fields = ["mode", "trigger"]


@extend_schema(tags=["playbooks"])
class RuleViewSet(viewsets.ModelViewSet):
    """Rules with their actions: every role reads them, CS Leads and Admins write them (a
    rule and its ordered actions in one request; `actions` left out of a PATCH keeps them)."""

    filterset_class = RuleFilterSet
    ordering_fields = ["name", "last_run_at"]
    ordering = ["name"]

    def get_serializer_class(self) -> Any:
        if self.action in ("create", "update", "partial_update"):
            return RuleWriteSerializer
        return RuleSerializer

    def get_queryset(self) -> QuerySet[Rule]:
        return Rule.objects.prefetch_related("actions")

    def _save(self, rule: Rule, data: dict[str, Any]) -> Rule:
        specs = data.pop("actions", None)
        for name, value in data.items():
            setattr(rule, name, value)
        if specs is None:
            actions = [
                ActionSpec(
                    id=a.pk,
                    kind=a.kind,
                    params=dict(a.params or {}),
                    playbook_id=a.playbook_id,
                    endpoint_id=a.endpoint_id,
                )
                for a in rule.actions.order_by("position", "pk")
            ]
        else:
            actions = [
                ActionSpec(
                    id=spec.get("id"),
                    kind=spec["kind"],
                    params=dict(spec.get("params") or {}),
                    playbook_id=spec.get("playbook"),
                    endpoint_id=spec.get("endpoint"),
                )
                for spec in specs
            ]
        return rule_save(rule=rule, actions=actions, actor=self.request.user)

    @extend_schema(request=RuleWriteSerializer, responses={201: RuleSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = RuleWriteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        rule = self._save(Rule(), dict(form.validated_data))
        return Response(
            RuleSerializer(self.get_queryset().get(pk=rule.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=RuleWriteSerializer, responses=RuleSerializer)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rule = self.get_object()
        form = RuleWriteSerializer(rule, data=request.data, partial=kwargs.get("partial", False))
        form.is_valid(raise_exception=True)
        self._save(rule, dict(form.validated_data))
        return Response(RuleSerializer(self.get_queryset().get(pk=rule.pk)).data)

    def perform_destroy(self, instance: Rule) -> None:
        rule_delete(rule=instance)

    @extend_schema(responses=PreviewSerializer)
    @action(detail=True, methods=["get"])
    def preview(self, request: Request, pk: str | None = None) -> Response:
        """The accounts the rule would match right now, with the reason (first 500)."""
        found = rule_matches(rule=self.get_object())
        return Response(
            PreviewSerializer({"count": len(found), "matches": found[:PREVIEW_LIMIT]}).data
        )

    @extend_schema(request=None, responses={201: RuleRunSerializer})
    @action(detail=True, methods=["post"])
    def evaluate(self, request: Request, pk: str | None = None) -> Response:
        """Evaluate the rule now (CS Leads and Admins); a disabled rule is refused."""
        rule = self.get_object()
        if not request.user.has_perm("playbooks.change_rule"):
            raise PermissionDenied
        if rule.mode == RuleMode.DISABLED:
            raise ValidationError(
                {
                    "mode": [
                        _("A disabled rule is not evaluated; enable it or set it to dry run first.")
                    ]
                }
            )
        result = rule_evaluate(rule=rule, source=RunSource.MANUAL)
        return Response(RuleRunSerializer(result.run).data, status=status.HTTP_201_CREATED)


class RunFilterSet(filters.FilterSet):
    source = filters.ChoiceFilter(choices=RunSource.choices)

    class Meta:
        model = RuleRun
        fields = ["rule", "source", "dry_run"]


@extend_schema(tags=["playbooks"])
class RuleRunViewSet(viewsets.ReadOnlyModelViewSet):
    """The run log: when each rule ran, what it matched, what it did and what failed."""

    filterset_class = RunFilterSet
    ordering_fields = ["started_at"]
    ordering = ["-started_at", "-pk"]

    def get_serializer_class(self) -> Any:
        return RuleRunDetailSerializer if self.action == "retrieve" else RuleRunSerializer

    def get_queryset(self) -> QuerySet[RuleRun]:
        qs = RuleRun.objects.all()
        if self.action == "retrieve":
            qs = qs.prefetch_related("matches__account")
        return qs


class TriggerListView(APIView):
    """Every trigger a rule can have, with its parameters and defaults."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["playbooks"], responses=TriggerSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = [
            {
                "key": t.key,
                "label": str(t.label),
                "description": str(t.description),
                "events": list(t.events),
                "params": [
                    {
                        "name": p.name,
                        "label": str(p.label),
                        "kind": p.kind,
                        "default": p.default,
                        "choices": [[k, str(v)] for k, v in p.choices],
                        "help": str(p.help),
                    }
                    for p in t.params
                ],
            }
            for t in triggers().values()
        ]
        return Response(TriggerSerializer(rows, many=True).data)


@extend_schema(tags=["notifications"])
class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """My in-app notifications, newest first (`?unread=true` for the unread ones)."""

    serializer_class = NotificationSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self) -> QuerySet[Notification]:
        if getattr(self, "swagger_fake_view", False):  # the schema, without a user
            return Notification.objects.none()
        qs = notify.notifications_for(user=self.request.user)
        if self.request.query_params.get("unread") in ("true", "1"):
            qs = qs.filter(read_at__isnull=True)
        return qs.order_by("-created_at", "-pk")

    @extend_schema(request=MarkReadSerializer, responses=MarkedSerializer)
    @action(detail=False, methods=["post"])
    def read(self, request: Request) -> Response:
        """Mark some (`ids`) or all of my unread notifications read."""
        form = MarkReadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        marked = notify.notifications_mark_read(
            user=request.user, ids=form.validated_data.get("ids")
        )
        return Response(
            MarkedSerializer(
                {"marked": marked, "unread": notify.unread_count(user=request.user)}
            ).data
        )
