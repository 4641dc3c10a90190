"""Announcements of the metrics app to the apps built on it (they connect in ready()).

`usage_recorded`: usage events were rolled up (tracking API, bulk endpoint, CSV import,
attached pending events). Send it after the transaction commits, with `account_ids` (the
accounts whose rollups changed, or None when they are not known). Receivers must be cheap
(this is the ingestion path): onboarding only asks for one detection run soon, at most
once a minute, however many batches arrive.
"""

from django.dispatch import Signal

usage_recorded = Signal()
