"""Announcements of the accounts app to the apps built on it (they connect in ready())."""

from django.dispatch import Signal

# Sent by accounts.services.task_complete inside its transaction, with `task` and `actor`,
# so that an app which created the task (onboarding, playbooks) closes its own record of
# the work in the same transaction: a failing receiver rolls the completion back.
task_completed = Signal()
