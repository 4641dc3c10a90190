"""Fixtures shared by the ingestion tests."""

from __future__ import annotations

import pytest

from accounts.tests.factories import AccountFactory
from metrics.models import Feature
from metrics.services import ingestion as services


@pytest.fixture
def catalogue(db):
    """'Report Built' is a core feature; 'Exported' a feature that is not core."""
    reports = services.feature_save(
        feature=Feature(key="reports", name="Reports", is_core=True), event_names=["Report Built"]
    )
    export = services.feature_save(
        feature=Feature(key="export", name="Export"), event_names=["Exported"]
    )
    return reports, export


@pytest.fixture
def northwind(db):
    return AccountFactory(external_id="CRM-1")
