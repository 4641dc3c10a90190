"""Helpers shared by the ingestion and tracking tests."""

from __future__ import annotations

import base64
import json
from typing import Any

from metrics.models import AccountDailyUsage, AccountFeatureDailyUsage, EndUserDailyActivity
from metrics.services import ingestion as services


def make_source(name: str = "web app") -> tuple[Any, str]:
    return services.source_create(name=name)


def basic(write_key: str) -> str:
    return "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()


def post(client: Any, path: str, body: Any, write_key: str | None = None, **extra: Any) -> Any:
    headers = {}
    if write_key is not None:
        headers["HTTP_AUTHORIZATION"] = basic(write_key)
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json", **headers, **extra)


def rollups() -> dict[str, list[tuple]]:
    """Every rollup row as plain tuples, to compare before and after; the usage the HTTP
    APIs left waiting is folded in first, as the periodic fold would within seconds."""
    services.rollups_fold()
    return {
        "account": sorted(
            AccountDailyUsage.objects.values_list(
                "account_id", "date", "events", "core_events", "active_users"
            )
        ),
        "feature": sorted(
            AccountFeatureDailyUsage.objects.values_list(
                "account_id", "feature_id", "date", "events", "users"
            )
        ),
        "user": sorted(
            EndUserDailyActivity.objects.values_list("end_user_id", "date", "events", "core_events")
        ),
    }
