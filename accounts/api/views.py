"""REST endpoints for the accounts records: parse, check the role matrix, call a service.

Every viewset reads through a queryset that joins or prefetches what its serializer shows,
so a list page costs the same number of queries whatever its length.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, filters, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors, services
from accounts.api.serializers import (
    AccountSerializer,
    ActivitySerializer,
    ContactSerializer,
    GoalSerializer,
    SubscriptionSerializer,
    TaskCompleteSerializer,
    TaskSerializer,
    TaskSnoozeSerializer,
)
from accounts.filtersets import (
    AccountFilterSet,
    ActivityFilterSet,
    ContactFilterSet,
    GoalFilterSet,
    SubscriptionFilterSet,
    TaskFilterSet,
)
from accounts.models import Account, Activity, Contact, Goal, Subscription, Task
from csplatform.choices import Role
from csplatform.roles import can_edit_owned

NOT_YOUR_ACCOUNT = _("You can change only the records of accounts you own.")


class AccountScopedViewSet(viewsets.ModelViewSet):
    """A record that belongs to an account: its owner (or a CS Lead) may change it.

    Subclasses implement `perform_create`/`perform_update` with a service and re-read the
    saved row through `get_queryset` so that the response has the list's shape.
    """

    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]

    def owner_id_of(self, obj: Any) -> int | None:
        return obj.account.owner_id

    def check_account_editable(self, account: Account | None) -> None:
        """On create (or a move to another account) the target account must be the user's."""
        if account is not None and not can_edit_owned(self.request.user, account.owner_id):
            raise exceptions.PermissionDenied(NOT_YOUR_ACCOUNT)

    def check_move(self, serializer: serializers.BaseSerializer) -> None:
        account = serializer.validated_data.get("account")
        if account is not None and account.pk != serializer.instance.account_id:
            self.check_account_editable(account)

    def reread(self, serializer: serializers.BaseSerializer, obj: Model) -> None:
        serializer.instance = self.get_queryset().get(pk=obj.pk)


# Accounts ------------------------------------------------------------------------------


@extend_schema(tags=["accounts"])
class AccountViewSet(viewsets.ModelViewSet):
    """Customer accounts. MRR, ARR and the renewal date are computed from subscriptions."""

    serializer_class = AccountSerializer
    filterset_class = AccountFilterSet
    # The FilterSet's own `ordering` sorts accounts, as on the list page.
    filter_backends = [DjangoFilterBackend]

    def get_queryset(self) -> QuerySet[Account]:
        # Aggregating querysets drop Meta.ordering; pages need a stable order.
        return (
            selectors.account_list(user=self.request.user)
            .prefetch_related("tags")
            .order_by("name", "pk")
        )

    def owner_id_of(self, obj: Account) -> int | None:
        return obj.owner_id

    def _check_owner(self, owner_id: int | None) -> None:
        user = self.request.user
        # A CSM's accounts are their own; handing accounts out is the CS Lead's job.
        if user.role == Role.CSM and owner_id != user.pk:
            raise exceptions.PermissionDenied(_("Only a CS Lead can assign accounts to others."))

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        tags = services.tags_ensure(names=data.pop("tags", []))
        owner = data.get("owner")
        if self.request.user.role == Role.CSM:
            self._check_owner(owner.pk if owner else self.request.user.pk)
        account = services.account_create(actor=self.request.user, tags=tags, **data)
        self.reread(serializer, account)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        account = serializer.instance
        if "owner" in data:
            new_owner_id = data["owner"].pk if data["owner"] else None
            if new_owner_id != account.owner_id:
                self._check_owner(new_owner_id)
        names = data.pop("tags", None)
        tags = services.tags_ensure(names=names) if names is not None else None
        account = services.account_update(
            account=account, actor=self.request.user, tags=tags, **data
        )
        self.reread(serializer, account)

    def reread(self, serializer: serializers.BaseSerializer, obj: Model) -> None:
        serializer.instance = self.get_queryset().get(pk=obj.pk)


# Contacts ------------------------------------------------------------------------------


@extend_schema(tags=["contacts"])
class ContactViewSet(AccountScopedViewSet):
    """People at customers, with their place in the power map."""

    serializer_class = ContactSerializer
    filterset_class = ContactFilterSet
    ordering_fields = ["last_name", "first_name", "email", "created_at", "last_contacted_at"]

    def get_queryset(self) -> QuerySet[Contact]:
        return Contact.objects.select_related("account")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        self.check_account_editable(serializer.validated_data["account"])
        contact = services.contact_save(contact=Contact(**serializer.validated_data))
        self.reread(serializer, contact)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        self.check_move(serializer)
        contact = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(contact, name, value)
        self.reread(serializer, services.contact_save(contact=contact))

    def perform_destroy(self, instance: Contact) -> None:
        services.contact_delete(contact=instance)


# Subscriptions -------------------------------------------------------------------------


@extend_schema(tags=["subscriptions"])
class SubscriptionViewSet(AccountScopedViewSet):
    """Contract lines. MRR is computed: net recurring amount ÷ months in the billing period."""

    serializer_class = SubscriptionSerializer
    filterset_class = SubscriptionFilterSet
    ordering_fields = ["end_date", "start_date", "mrr", "plan_name", "created_at"]

    def get_queryset(self) -> QuerySet[Subscription]:
        return Subscription.objects.select_related("account")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        self.check_account_editable(serializer.validated_data["account"])
        subscription = services.subscription_save(
            subscription=Subscription(**serializer.validated_data), actor=self.request.user
        )
        self.reread(serializer, subscription)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        self.check_move(serializer)
        subscription = serializer.instance
        old_account_id = subscription.account_id
        for name, value in serializer.validated_data.items():
            setattr(subscription, name, value)
        services.subscription_save(subscription=subscription, actor=self.request.user)
        if subscription.account_id != old_account_id:
            services.account_financials_refresh(account_ids=[old_account_id])
        self.reread(serializer, subscription)

    def perform_destroy(self, instance: Subscription) -> None:
        services.subscription_delete(subscription=instance)


# Activities ----------------------------------------------------------------------------


@extend_schema(tags=["activities"])
class ActivityViewSet(AccountScopedViewSet):
    """The account timeline: notes, calls, meetings, emails, QBRs and system events."""

    serializer_class = ActivitySerializer
    filterset_class = ActivityFilterSet
    ordering_fields = ["occurred_at", "created_at", "kind"]

    def get_queryset(self) -> QuerySet[Activity]:
        return Activity.objects.select_related("account", "author").prefetch_related("contacts")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        account = data.pop("account")
        self.check_account_editable(account)
        activity = services.activity_record(
            account_id=account.pk,
            author=self.request.user,
            contact_ids=[c.pk for c in data.pop("contacts", [])],
            **data,
        )
        self.reread(serializer, activity)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        self.check_move(serializer)
        data = dict(serializer.validated_data)
        contacts = data.pop("contacts", None)
        activity = services.activity_update(
            activity=serializer.instance,
            contact_ids=[c.pk for c in contacts] if contacts is not None else None,
            **data,
        )
        self.reread(serializer, activity)


# Tasks ---------------------------------------------------------------------------------


@extend_schema(tags=["tasks"])
class TaskViewSet(AccountScopedViewSet):
    """CSM to-dos. Close them with `complete`, push them out with `snooze`."""

    serializer_class = TaskSerializer
    filterset_class = TaskFilterSet
    ordering_fields = ["due_date", "priority", "created_at", "updated_at", "title"]

    def get_queryset(self) -> QuerySet[Task]:
        return Task.objects.select_related("account", "assignee")

    def is_also_editor(self, obj: Task) -> bool:
        # The assignee works the task even on someone else's account, but may not delete it.
        return self.action != "destroy" and obj.assignee_id == self.request.user.pk

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        account = data.pop("account")
        self.check_account_editable(account)
        task = services.task_create(
            account=account,
            title=data.pop("title"),
            actor=self.request.user,
            source="api",
            **data,
        )
        self.reread(serializer, task)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        self.check_move(serializer)
        task = services.task_update(task=serializer.instance, **serializer.validated_data)
        self.reread(serializer, task)

    @extend_schema(request=TaskCompleteSerializer, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        """Close the task with an outcome and a note; it is logged on the account's timeline."""
        task = self.get_object()
        params = TaskCompleteSerializer(data=request.data, context={"task": task})
        params.is_valid(raise_exception=True)
        services.task_complete(task=task, actor=request.user, **params.validated_data)
        return Response(TaskSerializer(self.get_queryset().get(pk=task.pk)).data)

    @extend_schema(request=TaskSnoozeSerializer, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def snooze(self, request: Request, pk: str | None = None) -> Response:
        """Hide the task until a future date, which becomes its due date."""
        task = self.get_object()
        params = TaskSnoozeSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            services.task_snooze(task=task, until=params.validated_data["until"])
        except ValueError as exc:
            raise exceptions.ValidationError({"until": [str(exc)]}) from exc
        return Response(TaskSerializer(self.get_queryset().get(pk=task.pk)).data)


# Goals ---------------------------------------------------------------------------------


@extend_schema(tags=["goals"])
class GoalViewSet(AccountScopedViewSet):
    """Success-plan goals; every change of status or target is kept in `revisions`."""

    serializer_class = GoalSerializer
    filterset_class = GoalFilterSet
    ordering_fields = ["due_date", "status", "created_at", "updated_at"]

    def get_queryset(self) -> QuerySet[Goal]:
        return Goal.objects.select_related("account").prefetch_related("revisions")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        note = data.pop("note", "")
        self.check_account_editable(data["account"])
        goal = services.goal_save(goal=Goal(**data), actor=self.request.user, note=note)
        self.reread(serializer, goal)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        self.check_move(serializer)
        data = dict(serializer.validated_data)
        note = data.pop("note", "")
        goal = serializer.instance
        for name, value in data.items():
            setattr(goal, name, value)
        self.reread(serializer, services.goal_save(goal=goal, actor=self.request.user, note=note))
