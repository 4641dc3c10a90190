from typing import Any


def account_onboarding_panel(account: Any, user: Any) -> dict[str, Any]:
    return {}
