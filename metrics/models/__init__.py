from .feedback import SurveyResponse, SurveySchedule, SurveySend, Ticket
from .ingestion import (
    AccountDailyUsage,
    AccountFeatureDailyUsage,
    EndUser,
    EndUserDailyActivity,
    EndUserFeatureDaily,
    Event,
    Feature,
    FeatureEvent,
    PendingUsage,
    Source,
)
from .snapshots import AccountChange, AccountDailyMetrics, MetricSnapshot, MrrMovement

__all__ = [
    "AccountChange",
    "AccountDailyMetrics",
    "AccountDailyUsage",
    "AccountFeatureDailyUsage",
    "EndUser",
    "EndUserDailyActivity",
    "EndUserFeatureDaily",
    "Event",
    "Feature",
    "FeatureEvent",
    "MetricSnapshot",
    "MrrMovement",
    "PendingUsage",
    "Source",
    "SurveyResponse",
    "SurveySchedule",
    "SurveySend",
    "Ticket",
]
