"""Announcements of the health app to the apps built on it (they connect in ready()).

`health_changed`: sent after commit by every scoring run whose effective scores moved, with
`as_of` (the day scored) and `changes` (a list of health.services.scores.HealthChange: the
account, its old and new score and colour). A nightly run over every account sends one
signal with all of them, so receivers (playbooks) should match them set-based.
"""

from django.dispatch import Signal

health_changed = Signal()
