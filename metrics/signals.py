"""Announcements of the metrics app to the apps built on it (they connect in ready()).

`usage_recorded`: usage events were rolled up (tracking API, bulk endpoint, CSV import,
attached pending events). Send it after the transaction commits, with `account_ids` (the
accounts whose rollups changed, or None when they are not known). Receivers must be cheap
(this is the ingestion path): onboarding only asks for one detection run soon, at most
once a minute, however many batches arrive.

`account_figures_refreshed`: the daily figures (AccountDailyMetrics) of some accounts were
rebuilt for today between the scheduled runs, because their signals changed (new events,
tickets or survey answers; see metrics.services.engine.account_figures_refresh_changed).
Sent after commit with `account_ids` and `day`; health recomputes just those accounts.

`metrics_recalculated`: a recalculation (nightly, every 15 minutes for today, a backfill)
finished; sent after commit with `start` and `end`. Health scores the days it covered.
"""

from django.dispatch import Signal

usage_recorded = Signal()
account_figures_refreshed = Signal()
metrics_recalculated = Signal()
