"""REST endpoints of onboarding: parse, check the role matrix, call a service.

Templates are the CS Lead's (model permissions: a CSM and a Viewer read them). Plans and
their tasks follow ownership: a CSM changes those of the accounts they own. Every list
reads through a queryset that joins or prefetches what its serializer shows, so a page
costs the same number of queries whatever its length.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, filters, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.views import NOT_YOUR_ACCOUNT
from csplatform.roles import can_edit_owned
from onboarding import selectors
from onboarding.api.serializers import (
    PlanCancelSerializer,
    PlanDetailSerializer,
    PlanSerializer,
    PlanTaskSerializer,
    TemplateCriterionSerializer,
    TemplateMilestoneSerializer,
    TemplateSerializer,
    TemplateTaskSerializer,
)
from onboarding.filtersets import PlanFilterSet, PlanTaskFilterSet
from onboarding.models import (
    OnboardingPlan,
    OnboardingTemplate,
    PlanTask,
    TemplateCriterion,
    TemplateMilestone,
    TemplateTask,
)
from onboarding.services import plans as plan_services
from onboarding.services import templates as template_services

# Templates -----------------------------------------------------------------------------


@extend_schema(tags=["onboarding"])
class TemplateViewSet(viewsets.ModelViewSet):
    """Onboarding templates with their milestones, tasks and criteria (CS Leads change them)."""

    serializer_class = TemplateSerializer
    filter_backends = [filters.OrderingFilter]
    ordering_fields = ["name", "priority", "updated_at"]

    def get_queryset(self) -> QuerySet[OnboardingTemplate]:
        return OnboardingTemplate.objects.prefetch_related(
            Prefetch(
                "milestones",
                queryset=TemplateMilestone.objects.order_by("position", "pk").prefetch_related(
                    "tasks"
                ),
            ),
            Prefetch(
                "criteria",
                queryset=TemplateCriterion.objects.select_related("feature", "milestone"),
            ),
        ).order_by("name", "pk")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        template = OnboardingTemplate(**serializer.validated_data)
        serializer.instance = template_services.template_save(
            template=template, actor=self.request.user
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        template = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(template, name, value)
        serializer.instance = template_services.template_save(template=template)


class TemplatePartViewSet(viewsets.ModelViewSet):
    """A milestone, task or criterion of a template, saved through its service."""

    save: Any

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = self.save(self.queryset.model(**serializer.validated_data))  # type: ignore[union-attr]

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        part = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(part, name, value)
        serializer.instance = self.save(part)

    def perform_destroy(self, instance: Any) -> None:
        template_services.template_part_delete(part=instance)


@extend_schema(tags=["onboarding"])
class TemplateMilestoneViewSet(TemplatePartViewSet):
    serializer_class = TemplateMilestoneSerializer
    queryset = TemplateMilestone.objects.prefetch_related("tasks").order_by("position", "pk")
    filterset_fields = ["template"]

    @staticmethod
    def save(part: TemplateMilestone) -> TemplateMilestone:
        return template_services.template_milestone_save(milestone=part)


@extend_schema(tags=["onboarding"])
class TemplateTaskViewSet(TemplatePartViewSet):
    serializer_class = TemplateTaskSerializer
    queryset = TemplateTask.objects.order_by("milestone", "position", "pk")
    filterset_fields = ["milestone", "milestone__template", "side"]

    @staticmethod
    def save(part: TemplateTask) -> TemplateTask:
        return template_services.template_task_save(task=part)


@extend_schema(tags=["onboarding"])
class TemplateCriterionViewSet(TemplatePartViewSet):
    serializer_class = TemplateCriterionSerializer
    queryset = TemplateCriterion.objects.select_related("feature", "milestone").order_by("pk")
    filterset_fields = ["template", "role", "kind"]

    @staticmethod
    def save(part: TemplateCriterion) -> TemplateCriterion:
        return template_services.template_criterion_save(criterion=part)


# Plans ---------------------------------------------------------------------------------


class OwnedByAccount:
    """Which account owner a record belongs to, for RoleMatrixPermission."""

    request: Request

    def check_account_editable(self, owner_id: int | None) -> None:
        if not can_edit_owned(self.request.user, owner_id):
            raise exceptions.PermissionDenied(NOT_YOUR_ACCOUNT)


@extend_schema(tags=["onboarding"])
class PlanViewSet(OwnedByAccount, viewsets.ModelViewSet):
    """Onboarding plans. Create starts one from a template; close it with complete or cancel."""

    filterset_class = PlanFilterSet
    filter_backends = [DjangoFilterBackend]
    http_method_names = ["get", "post", "head", "options"]

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return PlanDetailSerializer if self.action == "retrieve" else PlanSerializer

    def get_queryset(self) -> QuerySet[OnboardingPlan]:
        qs = selectors.plan_list()
        if self.action == "retrieve":
            qs = qs.prefetch_related(*selectors.plan_steps_prefetch())
        return qs.order_by("-started_on", "-pk")

    def owner_id_of(self, obj: OnboardingPlan) -> int | None:
        return obj.account.owner_id

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = serializer.validated_data
        account, template = data["account"], data["template"]
        self.check_account_editable(account.owner_id)
        if template is None:
            template = selectors.template_for_account(account=account)
            if template is None:
                raise exceptions.ValidationError(
                    {"template": [_("No active template suits this account; name one.")]}
                )
        plan = plan_services.plan_start(
            account=account,
            template=template,
            started_on=data.get("started_on"),
            actor=self.request.user,
        )
        serializer.instance = self.get_queryset().get(pk=plan.pk)

    def _closed(self, plan: OnboardingPlan) -> Response:
        return Response(PlanSerializer(self.get_queryset().get(pk=plan.pk)).data)

    @extend_schema(request=None, responses=PlanSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        """Complete onboarding: stamps completion and time to value, moves the stage on."""
        plan = self.get_object()
        if not plan.is_active:
            raise exceptions.ValidationError({"status": [_("Only a plan in progress can close.")]})
        plan_services.plan_complete(plan=plan, actor=request.user)
        return self._closed(plan)

    @extend_schema(request=PlanCancelSerializer, responses=PlanSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Stop the plan with a reason; its open CSM tasks are cancelled."""
        plan = self.get_object()
        params = PlanCancelSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        if not plan.is_active:
            raise exceptions.ValidationError({"status": [_("Only a plan in progress can close.")]})
        plan_services.plan_cancel(plan=plan, actor=request.user, **params.validated_data)
        return self._closed(plan)


@extend_schema(tags=["onboarding"])
class PlanTaskViewSet(OwnedByAccount, viewsets.ModelViewSet):
    """Tasks of plans. Tick them with complete / reopen; our side's follow in "My book"."""

    serializer_class = PlanTaskSerializer
    filterset_class = PlanTaskFilterSet
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]
    ordering_fields = ["due_on", "position"]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[PlanTask]:
        return PlanTask.objects.select_related("plan__account").order_by("plan", "position", "pk")

    def owner_id_of(self, obj: PlanTask) -> int | None:
        return obj.plan.account.owner_id

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        plan = serializer.validated_data["plan"]
        self.check_account_editable(plan.account.owner_id)
        task = plan_services.plan_task_save(
            plan_task=PlanTask(**serializer.validated_data), actor=self.request.user
        )
        serializer.instance = self.get_queryset().get(pk=task.pk)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        task = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(task, name, value)
        plan_services.plan_task_save(plan_task=task, actor=self.request.user)
        serializer.instance = self.get_queryset().get(pk=task.pk)

    def _set_done(self, done: bool) -> Response:
        task = self.get_object()
        try:
            plan_services.plan_task_set_done(plan_task=task, done=done, actor=self.request.user)
        except ValidationError as exc:
            raise exceptions.ValidationError({"plan": exc.messages}) from exc
        return Response(PlanTaskSerializer(self.get_queryset().get(pk=task.pk)).data)

    @extend_schema(request=None, responses=PlanTaskSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        """Tick the task; the plan moves on (milestones, activation, completion)."""
        return self._set_done(True)

    @extend_schema(request=None, responses=PlanTaskSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str | None = None) -> Response:
        """Untick the task; our side's work goes back into the owner's book."""
        return self._set_done(False)
