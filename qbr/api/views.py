"""REST endpoints of QBRs: parse, check the role matrix, call a service.

Every role reads. A CSM plans, prepares, holds and follows up the QBRs of the accounts they
own, a CS Lead every one. Lists read through querysets that join what their serializer
shows: a page costs the same queries whatever its length.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Account, Contact
from onboarding.api.views import OwnedByAccount
from qbr import selectors
from qbr.api.serializers import (
    DueSerializer,
    FollowUpSerializer,
    HoldSerializer,
    InviteSerializer,
    QbrDetailSerializer,
    QbrSerializer,
    QbrWriteSerializer,
)
from qbr.choices import ExportFormat
from qbr.filtersets import DueFilterSet, QbrFilterSet
from qbr.models import Qbr
from qbr.services import export, qbrs


def _contacts(account_id: int, ids: list[int] | None) -> list[int] | None:
    """The ids, if every one is a contact of the account; else a 400 naming the first stranger."""
    if ids is None:
        return None
    known = set(
        Contact.objects.filter(account_id=account_id, pk__in=ids).values_list("pk", flat=True)
    )
    strangers = [i for i in ids if i not in known]
    if strangers:
        raise exceptions.ValidationError(
            {"contact_ids": [_("Not a contact of this account: %(id)s") % {"id": strangers[0]}]}
        )
    return ids


@extend_schema(tags=["qbrs"])
class QbrViewSet(
    OwnedByAccount,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """QBRs and EBRs. POST plans one, PATCH changes its date, attendees or narrative;
    `prepare` fills the prep pack, `hold` records the meeting, `follow-up` turns the next
    steps into tasks and emails the customer, `invite` and `cancel` do what they say,
    `export/pdf` and `export/pptx` give the document, `due` lists the accounts whose QBR falls due."""

    filterset_class = QbrFilterSet
    filter_backends = [DjangoFilterBackend]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action == "retrieve":
            return QbrDetailSerializer
        if self.action in ("create", "partial_update"):
            return QbrWriteSerializer
        return QbrSerializer

    def get_queryset(self) -> QuerySet[Qbr]:
        qs = selectors.qbr_list()
        if self.action == "retrieve":
            qs = qs.prefetch_related("attendee_contacts", "attendee_users", "next_steps__task")
        return qs.order_by("-period_end", "-pk")

    def owner_id_of(self, obj: Qbr) -> int | None:
        return obj.account.owner_id

    def _reread(self, qbr: Qbr) -> Response:
        return Response(QbrDetailSerializer(selectors.qbr_detail(pk=qbr.pk)).data)

    def _params(
        self, serializer_class: type[serializers.Serializer], request: Request
    ) -> dict[str, Any]:
        params = serializer_class(data=request.data)
        params.is_valid(raise_exception=True)
        return dict(params.validated_data)

    @extend_schema(request=QbrWriteSerializer, responses={201: QbrDetailSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self._params(QbrWriteSerializer, request)
        if "account" not in data:
            raise exceptions.ValidationError({"account": [_("This field is required.")]})
        account = Account.objects.filter(pk=data.pop("account")).select_related("owner").first()
        if account is None:
            raise exceptions.ValidationError({"account": [_("Unknown account.")]})
        self.check_account_editable(account.owner_id)
        narrative = data.pop("narrative", None)
        qbr = qbrs.qbr_create(
            account=account,
            actor=request.user,
            contact_ids=_contacts(account.pk, data.pop("contact_ids", None)) or [],
            **data,
        )
        if narrative:
            qbrs.qbr_narrative_save(qbr=qbr, actor=request.user, narrative=narrative)
        response = self._reread(qbr)
        response.status_code = 201
        return response

    @extend_schema(request=QbrWriteSerializer, responses=QbrDetailSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        qbr = self.get_object()
        data = self._params(QbrWriteSerializer, request)
        if "account" in data:
            raise exceptions.ValidationError({"account": [_("A QBR stays with its account.")]})
        narrative = data.pop("narrative", None)
        optional = data.pop("optional_sections", None)
        contact_ids = _contacts(qbr.account_id, data.pop("contact_ids", None))
        if data or contact_ids is not None:
            qbrs.qbr_update(qbr=qbr, actor=request.user, contact_ids=contact_ids, **data)
        if narrative is not None or optional is not None:
            qbrs.qbr_narrative_save(
                qbr=qbr, actor=request.user, narrative=narrative or {}, optional_sections=optional
            )
        return self._reread(qbr)

    @extend_schema(request=None, responses=QbrDetailSerializer)
    @action(detail=True, methods=["post"])
    def prepare(self, request: Request, pk: str | None = None) -> Response:
        """Fill the prep pack from the platform and draft the empty narrative sections."""
        qbr = self.get_object()
        qbrs.qbr_prepare(qbr=qbr, actor=request.user)
        return self._reread(qbr)

    @extend_schema(request=HoldSerializer, responses=QbrDetailSerializer)
    @action(detail=True, methods=["post"])
    def hold(self, request: Request, pk: str | None = None) -> Response:
        """Record the meeting: the timeline, the first-QBR task, the cadence."""
        qbr = self.get_object()
        data = self._params(HoldSerializer, request)
        qbrs.qbr_hold(
            qbr=qbr,
            actor=request.user,
            held_on=data["held_on"],
            notes=data["notes"],
            contact_ids=_contacts(qbr.account_id, data.get("contact_ids")),
        )
        return self._reread(qbr)

    @extend_schema(request=FollowUpSerializer, responses=QbrDetailSerializer)
    @action(detail=True, methods=["post"], url_path="follow-up")
    def follow_up(self, request: Request, pk: str | None = None) -> Response:
        """Next steps become tasks; the numbered list is emailed to the customer's attendees."""
        qbr = self.get_object()
        data = self._params(FollowUpSerializer, request)
        qbrs.qbr_follow_up(
            qbr=qbr,
            actor=request.user,
            steps=[
                qbrs.StepInput(
                    text=s["text"],
                    side=s["side"],
                    due_date=s["due_date"],
                    assignee_id=s["assignee"].pk if s["assignee"] else None,
                )
                for s in data["steps"]
            ],
            send_email=data["send_email"],
            include_notes=data["include_notes"],
            deck=data["deck"],
            contact_ids=_contacts(qbr.account_id, data.get("contact_ids")),
        )
        return self._reread(qbr)

    @extend_schema(request=InviteSerializer, responses=QbrDetailSerializer)
    @action(detail=True, methods=["post"])
    def invite(self, request: Request, pk: str | None = None) -> Response:
        """Email the invitation (one per contact and QBR, never twice)."""
        qbr = self.get_object()
        data = self._params(InviteSerializer, request)
        qbrs.qbr_invite(
            qbr=qbr,
            actor=request.user,
            contact_ids=_contacts(qbr.account_id, data["contact_ids"]) or [],
            kind=data["kind"],
            message=data["message"],
        )
        return self._reread(qbr)

    @extend_schema(request=None, responses=QbrDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        qbr = self.get_object()
        qbrs.qbr_cancel(qbr=qbr, actor=request.user)
        return self._reread(qbr)

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY)}
    )
    @action(detail=True, methods=["get"], url_path=r"export/(?P<fmt>pdf|pptx)")
    def export(self, request: Request, pk: str | None = None, fmt: str = "pdf") -> HttpResponse:
        """The document as PDF (export/pdf/) or PowerPoint (export/pptx/); kept on the QBR
        when the caller may change it."""
        qbr = selectors.qbr_detail(pk=get_object_or_404(self.get_queryset(), pk=pk).pk)
        keep = selectors.qbr_can_change(user=request.user, qbr=qbr)
        name, data = export.qbr_export(qbr=qbr, fmt=fmt, keep=keep)
        response = HttpResponse(data, content_type=export.CONTENT_TYPES[ExportFormat(fmt)])
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @extend_schema(filters=False, responses=DueSerializer(many=True))
    @action(detail=False, methods=["get"], filterset_class=DueFilterSet)
    def due(self, request: Request) -> Response:
        """Accounts whose next QBR falls due within QBR_DUE_WINDOW_DAYS, overdue first."""
        filterset = DueFilterSet(request.query_params, queryset=selectors.qbrs_due())
        if not filterset.is_valid():
            raise exceptions.ValidationError(filterset.errors)
        page = self.paginate_queryset(filterset.qs)
        return self.get_paginated_response(DueSerializer(page, many=True).data)
