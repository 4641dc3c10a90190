from __future__ import annotations

from contextlib import suppress
from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _subscription_saved(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """The roll-forward runs in the saving transaction, for the line's account: a renewal
    never lags behind the subscription it follows (bulk writes wait for the sweep)."""
    from renewals.services.sync import renewals_sync

    if raw:
        return
    renewals_sync(account_ids=[instance.account_id])


def _account_saved(
    sender: Any, instance: Any, created: bool = False, raw: bool = False, **kwargs: Any
) -> None:
    """Open renewals follow the account's owner."""
    from renewals.services.sync import renewals_owner_follow

    if raw or created:
        return
    renewals_owner_follow(account_id=instance.pk, owner_id=instance.owner_id)


def _figures_refreshed(sender: Any, *, account_ids: list[int], **kwargs: Any) -> None:
    """New usage, tickets or answers: the risk of these accounts' renewals, soon."""
    from renewals.tasks import renewals_risk_refresh_accounts

    # Without a broker the hourly refresh still comes.
    with suppress(Exception):
        renewals_risk_refresh_accounts.delay(list(account_ids))


class RenewalsConfig(AppConfig):
    name = "renewals"
    verbose_name = _("Renewals")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from accounts.demo import demo_seeded
        from accounts.models import Account, Subscription
        from accounts.panels import register_account_panel
        from metrics.signals import account_figures_refreshed
        from renewals.demo import demo_seeded_receiver
        from renewals.views import account_renewal_panel

        post_save.connect(
            _subscription_saved, sender=Subscription, dispatch_uid="renewals.subscription_saved"
        )
        post_save.connect(_account_saved, sender=Account, dispatch_uid="renewals.account_saved")
        account_figures_refreshed.connect(
            _figures_refreshed, dispatch_uid="renewals.figures_refreshed"
        )
        demo_seeded.connect(demo_seeded_receiver, dispatch_uid="renewals.demo")
        register_account_panel(
            key="renewals",
            template="renewals/account_panel.html",
            context=account_renewal_panel,
            order=8,
        )
