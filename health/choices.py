from django.db import models
from django.utils.translation import gettext_lazy as _


class Color(models.TextChoices):
    RED = "red", _("Red")
    YELLOW = "yellow", _("Yellow")
    GREEN = "green", _("Green")

    @property
    def bootstrap(self) -> str:
        """The Bootstrap colour the UI shows it in."""
        return {"red": "danger", "yellow": "warning", "green": "success"}[self.value]


class ScoringMethod(models.TextChoices):
    BANDS = "bands", _("Bands (thresholds)")
    LINEAR = "linear", _("Linear between two bounds")


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


class Sentiment(models.TextChoices):
    """A CSM's own reading of an account, scored as a measure (csm_sentiment)."""

    AT_RISK = "at_risk", _("At risk")
    NEUTRAL = "neutral", _("Neutral")
    POSITIVE = "positive", _("Positive")

    @property
    def score(self) -> int:
        return {"at_risk": 0, "neutral": 60, "positive": 100}[self.value]

    @property
    def bootstrap(self) -> str:
        return {"at_risk": "danger", "neutral": "warning", "positive": "success"}[self.value]
