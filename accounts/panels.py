"""Panels that higher apps add to the account 360 page.

accounts must not import the apps built on it, so they register a panel here from their
AppConfig.ready(): a template and a function giving its context. The 360 view renders
every registered panel in order. A panel's context function should run a fixed number of
queries; the 360 page has a query-count test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from accounts.models import Account

PanelContext = Callable[[Account, Any], dict[str, Any]]


@dataclass(frozen=True)
class AccountPanel:
    key: str
    template: str
    context: PanelContext
    order: int


@dataclass(frozen=True)
class Rendered:
    key: str
    html: SafeString


_registry: dict[str, AccountPanel] = {}


def register_account_panel(
    *, key: str, template: str, context: PanelContext, order: int = 100
) -> None:
    """Add (or replace: ready() may run more than once) the panel called `key`."""
    _registry[key] = AccountPanel(key=key, template=template, context=context, order=order)


def unregister_account_panel(*, key: str) -> None:
    _registry.pop(key, None)


def registered_panels() -> list[AccountPanel]:
    return sorted(_registry.values(), key=lambda p: (p.order, p.key))


def account_panels(
    account: Account, user: Any, *, request: HttpRequest | None = None
) -> list[Rendered]:
    """Every registered panel rendered for this account and user, in order."""
    return [
        Rendered(
            key=panel.key,
            html=render_to_string(
                panel.template,
                {"account": account, "user": user, **panel.context(account, user)},
                request=request,
            ),
        )
        for panel in registered_panels()
    ]
