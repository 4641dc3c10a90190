"""factory_boy factories and a small builder for scorecards with hand-picked measures."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory

from health.choices import ScoringMethod, VersionStatus
from health.models import Measure, MeasureGroup, Scorecard, ScorecardVersion


class ScorecardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Scorecard

    name = factory.Sequence(lambda n: f"Scorecard {n:03d}")


class VersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScorecardVersion

    scorecard = factory.SubFactory(ScorecardFactory)
    number = factory.Sequence(lambda n: n + 1)
    status = VersionStatus.PUBLISHED


def bands(*pairs: tuple[float, float]) -> dict[str, Any]:
    return {
        "method": ScoringMethod.BANDS,
        "bands": [{"from": str(f), "score": s} for f, s in pairs],
    }


def linear(low: float, high: float) -> dict[str, Any]:
    return {"method": ScoringMethod.LINEAR, "low": Decimal(str(low)), "high": Decimal(str(high))}


def build_scorecard(
    groups: list[tuple[str, float, list[tuple[str, float, dict[str, Any]]]]],
    *,
    status: str = VersionStatus.PUBLISHED,
    red_max: float = 50,
    yellow_max: float = 75,
    **scorecard: Any,
) -> ScorecardVersion:
    """A scorecard with one version: [(group, weight, [(kind, weight, scoring)])]."""
    scorecard.setdefault("is_default", True)
    version = VersionFactory(
        scorecard=ScorecardFactory(**scorecard),
        status=status,
        red_max=Decimal(str(red_max)),
        yellow_max=Decimal(str(yellow_max)),
    )
    for gi, (name, weight, measures) in enumerate(groups):
        group = MeasureGroup.objects.create(
            version=version, name=name, weight=Decimal(str(weight)), position=gi
        )
        for mi, (kind, mweight, scoring) in enumerate(measures):
            options = scoring.pop("options", {}) if "options" in scoring else {}
            Measure.objects.create(
                group=group,
                kind=kind,
                weight=Decimal(str(mweight)),
                position=mi,
                options=options,
                **scoring,
            )
    return version
