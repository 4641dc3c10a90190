"""Writes of the qbr app: QBRs from planning to follow-up (qbrs), the cadence's tasks and
temperature checks (cadence), documents and their files (export) and batches (batch)."""
