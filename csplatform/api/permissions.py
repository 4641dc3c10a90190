from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import permissions
from rest_framework.request import Request

from csplatform.roles import can_edit_owned


class RoleMatrixPermission(permissions.DjangoModelPermissions):
    """Model permissions from the user's role group, then ownership for writes.

    A view exposes `owner_id_of(obj)` to say which account owner an object belongs to, and
    may expose `is_also_editor(obj)` for people other than the owner who may change it
    (the assignee of a task).
    """

    message = _("Your role does not allow this, or the record belongs to another owner.")

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request: Request, view: Any) -> bool:
        if getattr(view, "_ignore_model_permissions", False) or not hasattr(view, "get_queryset"):
            return bool(request.user and request.user.is_authenticated)
        return super().has_permission(request, view)

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        is_also_editor = getattr(view, "is_also_editor", None)
        if is_also_editor is not None and is_also_editor(obj):
            return True
        owner_id_of = getattr(view, "owner_id_of", None)
        if owner_id_of is None:
            return request.user.role is not None and request.user.is_cs_lead_or_admin
        return can_edit_owned(request.user, owner_id_of(obj))
