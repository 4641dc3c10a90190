"""Writes of the renewals app: the roll-forward from subscriptions, closing, forecast and
risk, reminders and cadence, counter-offers, exit interviews and win-back."""
