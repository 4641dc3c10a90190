"""The role matrix of SPEC §0, as groups with permissions and one object-level rule.

Groups hold model permissions (what a role may do to a kind of record); ownership decides
the rest: a CSM changes only the records of accounts they own, a CS Lead or Admin any.
Later apps add their app label to CS_APPS and their rules here.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

from csplatform.choices import Role

CS_APPS = ("accounts", "metrics", "onboarding", "health", "renewals", "playbooks", "qbr")

# Model permissions a CSM holds on top of viewing; ownership narrows them per object.
CSM_WRITABLE = {
    "accounts": (
        "account",
        "contact",
        "subscription",
        "activity",
        "task",
        "goal",
        "goalrevision",
        "tag",
        "importjob",
    ),
    "metrics": ("ticket", "surveyresponse"),
    # Templates are the CS Lead's; a CSM runs the plans of the accounts they own.
    "onboarding": ("onboardingplan", "planmilestone", "plantask", "plancriterion", "plansharelink"),
    # Scorecards are the CS Lead's; a CSM overrides and gives sentiment on their accounts.
    "health": ("healthoverride", "csmsentiment"),
    # Renewals are created from subscriptions; a CSM works and closes those of their accounts.
    "renewals": ("renewal", "counteroffer", "exitinterview"),
    # A CSM prepares, holds and follows up the QBRs of their accounts and makes decks in batch.
    "qbr": ("qbr", "qbrnextstep", "cadenceoverride", "batchjob"),
    # Rules, playbooks and webhooks are the CS Lead's (webhook endpoints the Admin's).
}


def _role_permissions(role: Role) -> Q:
    in_cs_apps = Q(content_type__app_label__in=CS_APPS)
    view = in_cs_apps & Q(codename__startswith="view_")
    if role == Role.VIEWER:
        return view
    if role == Role.CSM:
        q = view
        for app_label, models in CSM_WRITABLE.items():
            for model in models:
                q |= Q(
                    content_type__app_label=app_label,
                    codename__in=[f"{a}_{model}" for a in ("add", "change", "delete")],
                )
        return q
    if role == Role.CS_LEAD:
        return in_cs_apps
    return Q()  # Admin: everything, see roles_sync


def roles_sync(**kwargs: Any) -> None:
    """Create the role groups and (re)assign their permissions; runs after every migrate."""
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.value)
        if role == Role.ADMIN:
            perms = Permission.objects.all()
        else:
            perms = Permission.objects.filter(_role_permissions(role))
        group.permissions.set(perms)


def can_edit_owned(user: Any, owner_id: int | None) -> bool:
    """May `user` change a record that belongs to an account owned by `owner_id`?"""
    if not getattr(user, "is_authenticated", False):
        return False
    role = user.role
    if role in (Role.ADMIN, Role.CS_LEAD):
        return True
    return role == Role.CSM and owner_id is not None and owner_id == user.pk
