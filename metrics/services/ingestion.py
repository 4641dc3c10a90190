"""Writes of signal ingestion: sources, the set-based event insert, rollups, attach, purge.

The hot path (`events_ingest`) costs one SQL statement per batch, whatever its size, and
outside a caller's transaction it commits on its own: the tracking API's write key is
checked, the end users of the batch are upserted and the events inserted with
``ON CONFLICT (message_id) DO NOTHING`` (data-modifying CTEs), so a retried batch changes
nothing. What the rows that statement really inserted add to the four daily rollups is
then counted in one of two ways:

- inline (CSV imports, the demo, any caller inside a transaction that wants the rollups
  at once): the same statement upserts the rollups and puts the accounts on the
  AccountChange queue, and `usage_recorded` is announced after commit;
- deferred (``defer_rollups=True``: the tracking API and the bulk endpoint): the statement
  only writes one narrow PendingUsage row per usage event, and `rollups_fold`, run every
  ROLLUP_FOLD_SECONDS by beat (and before every recalculation), deletes the waiting rows
  and upserts the rollups from all of them in one statement. Upserting four rollups for
  every batch of 100 events cost as much as storing the events; folding the batches of a
  few seconds together costs a fraction of it, at the price of rollups a few seconds
  behind the raw events. The fold queues the accounts and announces `usage_recorded`.

A second statement runs only when the batch holds `group` calls, to attach the events the
newly linked users sent before (it must see rows committed by others while the first
statement waited for a lock, hence its own snapshot).

From the AccountChange queue `account_figures_refresh_changed` (metrics.services.engine)
refreshes the accounts' figures within seconds, so that health scores and playbooks react
to new usage without waiting for the next scheduled run.

Rollups, all counted from newly inserted or newly attached events only:
- EndUserDailyActivity (user, day): events and core events.
- AccountDailyUsage (account, day): events, core events, and active users, incremented
  when a (user, day) row turns active. "Active" is any usage event, or, when
  settings.ACTIVE_EVENTS lists event names, one of those.
- EndUserFeatureDaily (user, feature, day) and AccountFeatureDailyUsage (account, feature,
  day): events, and users incremented when a (user, feature, day) row is first inserted.
A "core" event is one named in ACTIVE_EVENTS when that is set, otherwise one mapped to a
Feature flagged core. Only track, page and screen are usage; identify and group are kept
as raw events but never counted. Days are UTC days of the event timestamp.

An event whose user is not (yet) linked to a known account is kept with account NULL;
`events_attach_pending` links users to accounts that appeared since (by
EndUser.group_external_id) and attaches and rolls up their waiting events.

Rows are written in key order in every statement so that concurrent batches touching the
same users and days queue on each other instead of deadlocking; a deadlock that still
happens is retried.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.csv_import import Column, Refusals, job_commit, job_create, job_mark_committed
from csplatform.models import User
from csplatform.services import api_key_hash
from csplatform.signals import announce_on_commit
from csplatform.sql import jit_off
from metrics.jsonwire import dumps as _dumps
from metrics.models import Event, Feature, FeatureEvent, Source
from metrics.models.ingestion import EventImport
from metrics.signals import usage_recorded
from metrics.tracking import USAGE_TYPES, Invalid, Message, native_row_parse

WRITE_KEY_PREFIX = "wk_"
PURGE_BATCH = 10_000
# Waiting usage rows folded per transaction, and the advisory lock folds share.
FOLD_CHUNK = 100_000
FOLD_LOCK = 0x637370_0F01D
DEADLOCK_RETRIES = 3
# EndUser.last_seen_at moves only when it would move by more than this: otherwise every
# batch would write a new version of most of its users' rows.
LAST_SEEN_RESOLUTION = timedelta(minutes=5)
_RETRYABLE_SQLSTATES = {"40P01", "40001"}


class IngestionUnavailable(Exception):
    """Storing events needs PostgreSQL; the zero-configuration SQLite start keeps demo data."""


def ingestion_available() -> bool:
    """Events are written by PostgreSQL-only statements (data-modifying CTEs, JSON records)."""
    return connection.vendor == "postgresql"


def _require_ingestion() -> None:
    if not ingestion_available():
        raise IngestionUnavailable(
            _(
                "Storing usage events needs PostgreSQL: set DATABASE_URL. The SQLite database "
                "of a start with nothing configured holds demo data only."
            )
        )


# Sources -------------------------------------------------------------------------------


def write_key_hash(raw_key: str) -> str:
    """Write keys are hashed like API keys (256 random bits: sha256 is enough)."""
    return api_key_hash(raw_key)


def source_create(*, name: str, actor: User | None = None) -> tuple[Source, str]:
    """Create a source and return it with its write key, which is never stored."""
    raw = WRITE_KEY_PREFIX + secrets.token_urlsafe(32)
    source = Source(
        name=name, write_key_prefix=raw[:12], write_key_hash=write_key_hash(raw), created_by=actor
    )
    source.full_clean()
    source.save()
    return source, raw


def source_revoke(*, source: Source) -> Source:
    if source.revoked_at is None:
        source.revoked_at = timezone.now()
        source.save(update_fields=["revoked_at"])
    return source


def source_authenticate(*, write_key: str) -> Source | None:
    """The active source with this write key, or None; touches last_seen_at once a minute."""
    if not write_key:
        return None
    source = (
        Source.objects.filter(write_key_hash=write_key_hash(write_key), revoked_at__isnull=True)
        .only("pk", "last_seen_at")
        .first()
    )
    if source is None:
        return None
    now = timezone.now()
    if source.last_seen_at is None or (now - source.last_seen_at).total_seconds() > 60:
        Source.objects.filter(pk=source.pk).update(last_seen_at=now)
    return source


# Feature catalogue ---------------------------------------------------------------------


def feature_save(*, feature: Feature, event_names: Iterable[str] | None = None) -> Feature:
    """Save a feature and, when given, make `event_names` exactly the events that map to it.

    Rollups already written keep the mapping they were counted under; call
    `metrics_rollups_rebuild` to recount the retention window with the new mapping.
    """
    with transaction.atomic():
        feature.full_clean()
        feature.save()
        if event_names is not None:
            names = sorted({n.strip() for n in event_names if n and n.strip()})
            FeatureEvent.objects.filter(feature=feature).exclude(event_name__in=names).delete()
            existing = set(
                FeatureEvent.objects.filter(event_name__in=names).values_list(
                    "event_name", flat=True
                )
            )
            # An event belongs to one feature: naming it here moves it from another.
            FeatureEvent.objects.filter(event_name__in=existing).exclude(feature=feature).update(
                feature=feature
            )
            FeatureEvent.objects.bulk_create(
                [FeatureEvent(event_name=n, feature=feature) for n in names if n not in existing]
            )
    return feature


# Rollups -------------------------------------------------------------------------------


def _rollup_ctes(source: str) -> str:
    """CTEs that add the usage rows of CTE `source` to the four rollups.

    `source` yields (account_id, end_user_id, name, type, "timestamp"). Needs the
    parameter %(active_events)s (text[]). Built per call: ACTIVE_EVENTS changes the SQL.
    """
    if settings.ACTIVE_EVENTS:
        core = "s.name = ANY(%(active_events)s::text[])"
        active = "core_events"
    else:
        core = "coalesce(f.is_core, false)"
        active = "events"
    return f"""
usage AS (
    SELECT s.account_id, s.end_user_id, (s."timestamp" AT TIME ZONE 'UTC')::date AS day,
           fe.feature_id, {core} AS is_core
    FROM {source} s
    LEFT JOIN metrics_featureevent fe ON fe.event_name = s.name
    LEFT JOIN metrics_feature f ON f.id = fe.feature_id
    WHERE s.account_id IS NOT NULL AND s.end_user_id IS NOT NULL
      AND s.type IN ('track', 'page', 'screen')
),
user_day_in AS (
    SELECT end_user_id, max(account_id) AS account_id, day, count(*) AS events,
           count(*) FILTER (WHERE is_core) AS core_events
    FROM usage GROUP BY end_user_id, day
),
user_day AS (
    INSERT INTO metrics_enduserdailyactivity AS r (end_user_id, account_id, date, events, core_events)
    SELECT end_user_id, account_id, day, events, core_events
    FROM user_day_in ORDER BY end_user_id, day
    ON CONFLICT (end_user_id, date) DO UPDATE
       SET events = r.events + EXCLUDED.events, core_events = r.core_events + EXCLUDED.core_events
    RETURNING r.end_user_id, r.date, r.{active} AS active_now
),
new_active AS (
    -- Users active for the first time that day: their stored count is this batch's. A
    -- grouped UNION ALL rather than a join of the two CTEs, whose unknown sizes made the
    -- planner loop over one for every row of the other.
    SELECT account_id, day, count(*) AS users
    FROM (SELECT max(account_id) AS account_id, day
          FROM (SELECT end_user_id, day, account_id, {active} AS n
                FROM user_day_in WHERE {active} > 0
                UNION ALL
                SELECT end_user_id, date, NULL, active_now FROM user_day) both_sides
          GROUP BY end_user_id, day
          HAVING count(*) = 2 AND min(n) = max(n)) first_today
    GROUP BY account_id, day
),
account_day AS (
    -- Events per account and day, plus the users new to it: a grouped UNION ALL too.
    INSERT INTO metrics_accountdailyusage AS r (account_id, date, events, core_events, active_users)
    SELECT account_id, day, sum(events), sum(core_events), sum(users)
    FROM (SELECT account_id, day, count(*) AS events,
                 count(*) FILTER (WHERE is_core) AS core_events, 0 AS users
          FROM usage GROUP BY account_id, day
          UNION ALL
          SELECT account_id, day, 0, 0, users FROM new_active) parts
    GROUP BY account_id, day
    ORDER BY account_id, day
    ON CONFLICT (account_id, date) DO UPDATE
       SET events = r.events + EXCLUDED.events,
           core_events = r.core_events + EXCLUDED.core_events,
           active_users = r.active_users + EXCLUDED.active_users
    RETURNING 1
),
user_feature_in AS (
    SELECT end_user_id, max(account_id) AS account_id, feature_id, day, count(*) AS events
    FROM usage WHERE feature_id IS NOT NULL GROUP BY end_user_id, feature_id, day
),
user_feature AS (
    INSERT INTO metrics_enduserfeaturedaily AS r (end_user_id, account_id, feature_id, date, events)
    SELECT end_user_id, account_id, feature_id, day, events
    FROM user_feature_in ORDER BY end_user_id, feature_id, day
    ON CONFLICT (end_user_id, feature_id, date) DO UPDATE SET events = r.events + EXCLUDED.events
    RETURNING r.end_user_id, r.feature_id, r.date, r.events
),
feature_new AS (
    -- (user, feature, day) rows this statement inserted: their stored count is its own.
    SELECT account_id, feature_id, day, count(*) AS users
    FROM (SELECT max(account_id) AS account_id, feature_id, day
          FROM (SELECT end_user_id, feature_id, day, account_id, events AS n
                FROM user_feature_in
                UNION ALL
                SELECT end_user_id, feature_id, date, NULL, events FROM user_feature) both_sides
          GROUP BY end_user_id, feature_id, day
          HAVING count(*) = 2 AND min(n) = max(n)) first_today
    GROUP BY account_id, feature_id, day
),
account_feature AS (
    INSERT INTO metrics_accountfeaturedailyusage AS r (account_id, feature_id, date, events, users)
    SELECT account_id, feature_id, day, sum(events), sum(users)
    FROM (SELECT account_id, feature_id, day, count(*) AS events, 0 AS users
          FROM usage WHERE feature_id IS NOT NULL GROUP BY account_id, feature_id, day
          UNION ALL
          SELECT account_id, feature_id, day, 0, users FROM feature_new) parts
    GROUP BY account_id, feature_id, day
    ORDER BY account_id, feature_id, day
    ON CONFLICT (account_id, feature_id, date) DO UPDATE
       SET events = r.events + EXCLUDED.events, users = r.users + EXCLUDED.users
    RETURNING 1
)"""


def _retrying(fn: Any, *, atomic: bool = True) -> Any:
    """Run `fn`, again if PostgreSQL picked it as a deadlock victim.

    With atomic=False and no transaction open, `fn`'s statement commits on its own
    (autocommit), which spares a COMMIT round trip on the hot path; inside a caller's
    transaction `fn` always runs in a savepoint, so that a retry is possible at all.
    """
    for attempt in range(DEADLOCK_RETRIES + 1):
        try:
            if atomic or connection.in_atomic_block:
                with transaction.atomic():
                    return fn()
            return fn()
        except OperationalError as exc:
            sqlstate = getattr(exc.__cause__, "sqlstate", None)
            if sqlstate not in _RETRYABLE_SQLSTATES or attempt == DEADLOCK_RETRIES:
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


# Ingestion -----------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestResult:
    received: int
    inserted: int
    attached: int = 0
    # False when a write key was given and is unknown or revoked: nothing was written.
    authenticated: bool = True

    @property
    def duplicates(self) -> int:
        return self.received - self.inserted


def _queue_cte(source: str) -> str:
    """A CTE that puts the accounts of CTE `source` on the AccountChange queue.

    DO NOTHING on a queued account takes no lock, so concurrent batches do not wait.
    """
    return f""",
queued AS (
    INSERT INTO metrics_accountchange (account_id, since)
    SELECT DISTINCT account_id, %(now)s::timestamptz FROM {source}
    WHERE account_id IS NOT NULL
    ORDER BY account_id
    ON CONFLICT (account_id) DO NOTHING
    RETURNING 1
)"""


def _ingest_sql(*, deferred: bool) -> str:
    # Deferred, the statement only puts the usage rows it inserted on the PendingUsage
    # queue for `rollups_fold`, which also queues the accounts for a figures refresh.
    writes = _PENDING_CTE if deferred else _rollup_ctes("inserted") + _queue_cte("inserted")
    # The second column names users whose row was created by a concurrent batch after this
    # statement's snapshot and needed no change, so the join above could not see it.
    return (
        _INGEST_HEAD
        + writes
        + """
SELECT (SELECT ok FROM gate), count(*),
       array_agg(DISTINCT user_id) FILTER (WHERE end_user_id IS NULL AND user_id <> '')
FROM inserted"""
    )


_PENDING_CTE = """
pending AS (
    INSERT INTO metrics_pendingusage (account_id, end_user_id, name, type, "timestamp")
    SELECT account_id, end_user_id, name, type, "timestamp" FROM inserted
    WHERE account_id IS NOT NULL AND end_user_id IS NOT NULL
      AND type IN ('track', 'page', 'screen')
    RETURNING 1
)"""


_INGEST_HEAD = """
WITH
gate AS (
    -- With a write key the statement authenticates its source itself (one round trip per
    -- batch instead of two) and writes nothing when the key is unknown or revoked.
    SELECT coalesce(src.id, %(source_id)s::bigint) AS source_id,
           (%(key_hash)s::text IS NULL OR src.id IS NOT NULL) AS ok
    FROM (SELECT 1) one
    LEFT JOIN metrics_source src
      ON src.write_key_hash = %(key_hash)s::text AND src.revoked_at IS NULL
),
touched AS (
    UPDATE metrics_source s SET last_seen_at = %(now)s
    FROM gate g
    WHERE s.id = g.source_id AND %(key_hash)s::text IS NOT NULL
      AND (s.last_seen_at IS NULL OR s.last_seen_at < %(now)s - interval '1 minute')
    RETURNING 1
),
users_in AS (
    SELECT i.*, cur.id AS cur_id, cur.account_id AS cur_account,
           (cur.id IS NULL OR i.group_id IS NOT NULL OR i.traits IS NOT NULL
            OR i.first_seen < cur.first_seen_at
            OR i.last_seen > cur.last_seen_at + %(last_seen_resolution)s::interval
            OR (cur.first_seen_at IS NULL AND i.first_seen IS NOT NULL)) AS changes
    FROM json_to_recordset(%(users)s::json)
         AS i(external_id text, first_seen timestamptz, last_seen timestamptz, traits jsonb,
              email text, name text, group_id text)
    LEFT JOIN metrics_enduser cur ON cur.external_id = i.external_id
),
upserted AS (
    INSERT INTO metrics_enduser AS u (external_id, account_id, group_external_id, email, name,
                                      traits, first_seen_at, last_seen_at, created_at)
    SELECT i.external_id, a.id, coalesce(i.group_id, ''), coalesce(i.email, ''),
           coalesce(i.name, ''), coalesce(i.traits, '{}'::jsonb), i.first_seen, i.last_seen,
           %(now)s
    FROM users_in i LEFT JOIN accounts_account a ON a.external_id = i.group_id
    -- Users this batch changes nothing about are not offered to ON CONFLICT at all, which
    -- would lock their rows until commit and make concurrent batches queue on them.
    WHERE i.changes AND (SELECT ok FROM gate)
    ORDER BY i.external_id
    ON CONFLICT (external_id) DO UPDATE SET
        account_id = CASE WHEN EXCLUDED.group_external_id <> '' THEN EXCLUDED.account_id
                          ELSE u.account_id END,
        group_external_id = CASE WHEN EXCLUDED.group_external_id <> ''
                                 THEN EXCLUDED.group_external_id ELSE u.group_external_id END,
        email = CASE WHEN EXCLUDED.email <> '' THEN EXCLUDED.email ELSE u.email END,
        name = CASE WHEN EXCLUDED.name <> '' THEN EXCLUDED.name ELSE u.name END,
        traits = CASE WHEN EXCLUDED.traits = '{}'::jsonb THEN u.traits
                      ELSE u.traits || EXCLUDED.traits END,
        first_seen_at = LEAST(u.first_seen_at, EXCLUDED.first_seen_at),
        last_seen_at = GREATEST(u.last_seen_at, EXCLUDED.last_seen_at)
    -- A row created by a concurrent batch since this statement's snapshot is only rewritten
    -- when this batch has something to add to it.
    WHERE EXCLUDED.group_external_id <> '' OR EXCLUDED.traits <> '{}'::jsonb
       OR EXCLUDED.email <> '' OR EXCLUDED.name <> ''
       OR EXCLUDED.first_seen_at < u.first_seen_at
       OR EXCLUDED.last_seen_at > u.last_seen_at + %(last_seen_resolution)s::interval
       OR (u.first_seen_at IS NULL AND EXCLUDED.first_seen_at IS NOT NULL)
    RETURNING u.id, u.external_id, u.account_id
),
end_users AS (
    SELECT id, external_id, account_id FROM upserted
    UNION ALL
    SELECT i.cur_id, i.external_id, i.cur_account FROM users_in i
    WHERE i.cur_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM upserted p WHERE p.external_id = i.external_id)
),
msgs AS (
    SELECT * FROM json_to_recordset(%(messages)s::json)
           AS t(message_id text, type text, name text, user_id text, anonymous_id text,
                "timestamp" timestamptz, properties jsonb, context jsonb)
),
inserted AS (
    INSERT INTO metrics_event (message_id, source_id, type, name, account_id, end_user_id,
                               user_id, anonymous_id, "timestamp", received_at, properties,
                               context)
    SELECT m.message_id, (SELECT source_id FROM gate), m.type, m.name, e.account_id, e.id,
           m.user_id, m.anonymous_id, m."timestamp", %(now)s, m.properties, m.context
    FROM msgs m LEFT JOIN end_users e ON e.external_id = m.user_id
    WHERE (SELECT ok FROM gate)
    ORDER BY m.message_id
    ON CONFLICT (message_id) DO NOTHING
    RETURNING account_id, end_user_id, user_id, name, type, "timestamp"
),"""


def _attach_sql(where: str) -> str:
    return (
        f"""
WITH
attached AS (
    UPDATE metrics_event e SET account_id = u.account_id, end_user_id = u.id
    FROM metrics_enduser u
    WHERE e.account_id IS NULL AND e.user_id <> '' AND e.user_id = u.external_id
      AND u.account_id IS NOT NULL AND {where}
    RETURNING e.account_id, e.end_user_id, e.name, e.type, e."timestamp"
),"""
        + _rollup_ctes("attached")
        + _queue_cte("attached")
        + """
SELECT count(*) FROM attached"""
    )


def _users_of(messages: Sequence[Message]) -> tuple[dict[str, list[Any]], list[str]]:
    """Per end user of the batch: first/last seen, latest traits and group; grouped ids."""
    users: dict[str, list[Any]] = {}
    # [first, last, traits_ts, traits, group_ts, group_id]
    for m in messages:
        uid = m.user_id
        if not uid:
            continue
        rec = users.get(uid)
        if rec is None:
            rec = users[uid] = [None, None, None, None, None, None]
        ts = m.timestamp
        if m.type in USAGE_TYPES:
            if rec[0] is None or ts < rec[0]:
                rec[0] = ts
            if rec[1] is None or ts > rec[1]:
                rec[1] = ts
        if m.traits is not None and (rec[2] is None or ts >= rec[2]):
            rec[2] = ts
            rec[3] = m.traits if rec[3] is None else {**rec[3], **m.traits}
        if m.group_id is not None and (rec[4] is None or ts >= rec[4]):
            rec[4] = ts
            rec[5] = m.group_id
    grouped = sorted(uid for uid, rec in users.items() if rec[5] is not None)
    return users, grouped


def _users_json(users: dict[str, list[Any]]) -> str:
    rows = []
    for uid, (first, last, _tts, traits, _gts, group_id) in users.items():
        row: dict[str, Any] = {
            "external_id": uid,
            "first_seen": first,
            "last_seen": last,
            "group_id": group_id,
        }
        if traits:
            row["traits"] = traits
            email = traits.get("email")
            if isinstance(email, str) and "@" in email:
                row["email"] = email[:254]
            name = traits.get("name")
            if not isinstance(name, str) or not name:
                parts = (
                    traits.get("firstName") or traits.get("first_name"),
                    traits.get("lastName") or traits.get("last_name"),
                )
                name = " ".join(p for p in parts if isinstance(p, str) and p)
            if name:
                row["name"] = name[:200]
        rows.append(row)
    return _dumps(rows)


def _messages_json(messages: Sequence[Message]) -> str:
    # One JSON document that PostgreSQL unpacks with json_to_recordset: serialising the
    # messages (dataclasses, datetimes and all) is one C call, where adapting eight Python
    # lists as arrays costs more than the insert. Fields the statement does not name
    # (traits, group_id) are ignored by json_to_recordset.
    return _dumps(messages)


def events_ingest(
    *,
    messages: Sequence[Message],
    source_id: int | None = None,
    write_key: str | None = None,
    received_at: datetime | None = None,
    defer_rollups: bool = False,
) -> IngestResult:
    """Store a batch of validated messages once each and roll them up (see module doc).

    With `defer_rollups` (the HTTP APIs) the batch's usage waits in PendingUsage and
    `rollups_fold` adds it to the rollups a few seconds later, many batches in one go;
    without it (CSV imports, the demo) the rollups change in the same statement.

    Messages whose messageId is already stored (a retried batch) are skipped and not
    counted again; so are repeats of a messageId inside the batch. With `write_key`, the
    batch is written only if the key belongs to an active source (checked by the same
    statement); otherwise the result says `authenticated=False` and nothing changed.
    """
    _require_ingestion()
    if not messages:
        return IngestResult(received=0, inserted=0)
    now = received_at or timezone.now()
    seen: set[str] = set()
    unique: list[Message] = []
    for m in messages:
        if m.message_id not in seen:
            seen.add(m.message_id)
            unique.append(m)
    users, grouped = _users_of(unique)
    params: dict[str, Any] = {
        "users": _users_json(users),
        "messages": _messages_json(unique),
        "source_id": source_id,
        "key_hash": write_key_hash(write_key) if write_key is not None else None,
        "now": now,
        "last_seen_resolution": LAST_SEEN_RESOLUTION,
        "active_events": list(settings.ACTIVE_EVENTS),
    }

    def insert() -> tuple[bool, int, list[str]]:
        with connection.cursor() as cursor:
            cursor.execute(_ingest_sql(deferred=defer_rollups), params)
            ok, inserted, unseen = cursor.fetchone()
        return bool(ok), int(inserted), list(unseen or ())

    ok, inserted, unseen = _retrying(insert, atomic=False)
    if not ok:
        return IngestResult(received=len(messages), inserted=0, authenticated=False)
    if inserted and not defer_rollups:
        # At once outside a transaction (the statement committed on its own); deferred,
        # the fold announces the usage once it is in the rollups.
        announce_on_commit(usage_recorded, sender=Event, account_ids=None)
    to_attach = sorted(set(grouped) | set(unseen))
    if not to_attach:
        return IngestResult(received=len(messages), inserted=inserted)

    def attach() -> int:
        # Its own statement, so it sees users committed by concurrent batches while the
        # insert waited for a lock; should it fail, the periodic sweep attaches them.
        with connection.cursor() as cursor:
            cursor.execute(
                _attach_sql("u.external_id = ANY(%(users)s::text[])"),
                {"users": to_attach, "active_events": params["active_events"], "now": now},
            )
            return int(cursor.fetchone()[0])

    attached = _retrying(attach, atomic=False)
    if attached and defer_rollups:
        # Attached events are rolled up by the attach itself, deferred or not.
        announce_on_commit(usage_recorded, sender=Event, account_ids=None)
    return IngestResult(received=len(messages), inserted=inserted, attached=attached)


@dataclass(frozen=True)
class FoldResult:
    events: int
    account_ids: list[int]
    # True when another fold held the lock (wait=False): this one did nothing.
    skipped: bool = False


def _fold_sql() -> str:
    # Rows of accounts deleted since the event arrived are dropped, not counted.
    return (
        """
WITH
claimed AS (
    -- The oldest rows up to the chunk's size, as one range of the primary key. A row of
    -- a batch still in flight below that bound is not visible yet: the next fold takes it.
    DELETE FROM metrics_pendingusage
    WHERE id <= coalesce((SELECT id FROM metrics_pendingusage ORDER BY id
                          OFFSET %(chunk)s - 1 LIMIT 1), 9223372036854775807)
    RETURNING account_id, end_user_id, name, type, "timestamp"
),
live AS (
    SELECT c.* FROM claimed c
    WHERE EXISTS (SELECT 1 FROM accounts_account a WHERE a.id = c.account_id)
),"""
        + _rollup_ctes("live")
        + _queue_cte("live")
        + """
SELECT (SELECT count(*) FROM claimed),
       coalesce((SELECT array_agg(DISTINCT account_id) FROM live), '{}')"""
    )


def rollups_fold(
    *, wait: bool = True, chunk: int = FOLD_CHUNK, now: datetime | None = None
) -> FoldResult:
    """Add the usage waiting in PendingUsage to the four rollups; returns what it added.

    Each chunk of waiting rows is deleted and counted in one statement, so an event is
    counted once whatever fails or runs at the same time. Folds serialize on an advisory
    lock (as does `metrics_rollups_rebuild`); with wait=False a fold that finds it taken
    does nothing and says `skipped` (the periodic task: the running fold takes the rows).
    The accounts counted go on the AccountChange queue and are announced with
    `usage_recorded`.
    """
    if not ingestion_available():
        return FoldResult(events=0, account_ids=[])
    params: dict[str, Any] = {
        "chunk": chunk,
        "active_events": list(settings.ACTIVE_EVENTS),
        "now": now or timezone.now(),
    }
    lock = (
        "SELECT pg_advisory_xact_lock(%s), true"
        if wait
        else "SELECT 1, pg_try_advisory_xact_lock(%s)"
    )
    total = 0
    accounts: set[int] = set()

    def run() -> tuple[int, list[int]] | None:
        with connection.cursor() as cursor:
            cursor.execute(lock, [FOLD_LOCK])
            if not cursor.fetchone()[1]:
                return None
            # The queue is empty whenever it is analyzed, so the planner expects one waiting
            # row and joins it to accounts and features row by row; hash joins are several
            # times faster for the thousands a fold takes, and as cheap for a few.
            cursor.execute("SET LOCAL enable_nestloop = off")
            jit_off()
            cursor.execute(_fold_sql(), params)
            count, ids = cursor.fetchone()
        return int(count), list(ids)

    while True:
        done = _retrying(run)
        if done is None:
            return FoldResult(events=total, account_ids=sorted(accounts), skipped=True)
        total += done[0]
        accounts.update(done[1])
        if done[0] < chunk:
            break
    if accounts:
        announce_on_commit(usage_recorded, sender=Event, account_ids=sorted(accounts))
    return FoldResult(events=total, account_ids=sorted(accounts))


def events_attach_pending(*, account_ids: Sequence[int] | None = None) -> int:
    """Link end users to accounts that now carry the external id their `group` named, and
    attach and roll up the events they sent while unlinked. Returns events attached.

    With `account_ids`, only users of those accounts; without, every pending user (the
    periodic sweep, which also covers accounts created by bulk imports that send no
    signals).
    """
    if not ingestion_available():
        return 0  # no event can have been stored, so none waits for its account
    link_where = "TRUE" if account_ids is None else "a.id = ANY(%(ids)s::bigint[])"
    attach_where = "TRUE" if account_ids is None else "u.account_id = ANY(%(ids)s::bigint[])"
    params: dict[str, Any] = {
        "ids": list(account_ids or []),
        "active_events": list(settings.ACTIVE_EVENTS),
        "now": timezone.now(),
    }

    def run() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE metrics_enduser u SET account_id = a.id
                FROM accounts_account a
                WHERE u.group_external_id <> '' AND a.external_id = u.group_external_id
                  AND u.account_id IS DISTINCT FROM a.id AND {link_where}
                """,
                params,
            )
            cursor.execute(_attach_sql(attach_where), params)
            return int(cursor.fetchone()[0])

    attached = int(_retrying(run))
    if attached:
        announce_on_commit(
            usage_recorded,
            sender=Event,
            account_ids=list(account_ids) if account_ids is not None else None,
        )
    return attached


def events_purge_expired(*, now: datetime | None = None, batch_size: int = PURGE_BATCH) -> int:
    """Delete raw events older than EVENT_RETENTION_DAYS, in batches; rollups stay."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.EVENT_RETENTION_DAYS)
    total = 0
    while True:
        with connection.cursor() as cursor:
            # Short batches keep each transaction's locks and WAL small on a busy table.
            cursor.execute(
                """
                DELETE FROM metrics_event WHERE id IN (
                    SELECT id FROM metrics_event WHERE "timestamp" < %s LIMIT %s
                )
                """,
                [cutoff, batch_size],
            )
            deleted = cursor.rowcount
        total += deleted
        if deleted < batch_size:
            return total


def metrics_rollups_rebuild(*, since: date | None = None, now: datetime | None = None) -> int:
    """Recount the four rollups from raw events, day by day, from `since` to today.

    Only days whose raw events are all still kept can be rebuilt: `since` is raised to
    the first full day of the retention window; rollups of older days are left alone.
    Each day is rebuilt in its own transaction under a SHARE lock on the events table,
    so that no batch is ingested (and counted twice or not at all) while it is recounted.
    Returns the number of events counted.
    """
    now = now or timezone.now()
    first_full = (now - timedelta(days=settings.EVENT_RETENTION_DAYS)).date() + timedelta(days=1)
    day = max(since or first_full, first_full)
    today = now.date()
    params: dict[str, Any] = {"active_events": list(settings.ACTIVE_EVENTS)}
    sql = (
        """
WITH
day_events AS (
    SELECT account_id, end_user_id, name, type, "timestamp" FROM metrics_event
    WHERE "timestamp" >= %(start)s AND "timestamp" < %(end)s AND account_id IS NOT NULL
),"""
        + _rollup_ctes("day_events")
        + """
SELECT count(*) FROM usage"""
    )
    total = 0
    while day <= today:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        params.update(start=start, end=start + timedelta(days=1), day=day)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("LOCK TABLE metrics_event IN SHARE MODE")
            # Usage still waiting to be folded is in the raw events recounted here.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FOLD_LOCK])
            cursor.execute(
                'DELETE FROM metrics_pendingusage WHERE "timestamp" >= %(start)s '
                'AND "timestamp" < %(end)s',
                params,
            )
            for table in (
                "metrics_enduserdailyactivity",
                "metrics_accountdailyusage",
                "metrics_enduserfeaturedaily",
                "metrics_accountfeaturedailyusage",
            ):
                cursor.execute(f"DELETE FROM {table} WHERE date = %(day)s", params)
            cursor.execute(sql, params)
            total += int(cursor.fetchone()[0])
        day += timedelta(days=1)
    return total


# CSV import of events -------------------------------------------------------------------
#
# upload → preview → commit, as for accounts (the stored job's life is accounts.csv_import's):
# the file is stored with a report (per-row errors with line numbers, a preview of the
# first rows); commit re-reads the stored file and ingests it in one transaction, or
# refuses if any row is wrong. Rows without a message_id get one from their content, so
# importing the same file twice counts it once.

EVENT_CSV_COLUMNS = (
    Column("user_id", True, "", "u-1842"),
    Column("event", True, "", "Report Built"),
    Column("timestamp", True, "", "2026-03-02T10:15:00Z"),
    Column("account_external_id", False, "", "CRM-0001"),
    Column("message_id", False, "", "evt-000001"),
    Column("type", False, "", "track"),
    Column("properties", False, "", '{"format": "pdf"}'),
)
_KNOWN_COLUMNS = {c.name for c in EVENT_CSV_COLUMNS}
IMPORT_PREVIEW_ROWS = 50
IMPORT_MAX_ERRORS = 500
_REFUSALS = Refusals(
    committed=gettext_lazy("This file has errors or was imported already."),
    not_previewed=gettext_lazy("This file has errors or was imported already."),
    now_invalid=gettext_lazy("The file has errors; nothing was imported."),
)


@dataclass
class EventImportPlan:
    headers: list[str]
    messages: list[Message]
    errors: list[dict[str, Any]]
    rows: int

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)

    @property
    def row_count(self) -> int:
        return self.rows

    def report(self) -> dict[str, Any]:
        """The JSON kept on the EventImport for its preview page."""
        return {
            "errors": self.errors[:IMPORT_MAX_ERRORS],
            "error_count": len(self.errors),
            "preview": [
                {
                    "user_id": m.user_id,
                    "event": m.name,
                    "timestamp": m.timestamp.isoformat(),
                    "account_external_id": m.group_id or "",
                    "message_id": m.message_id,
                }
                for m in self.messages[:IMPORT_PREVIEW_ROWS]
            ],
        }


def event_import_plan(*, content: str, received_at: datetime | None = None) -> EventImportPlan:
    """Parse and check every row; columns not listed above become string properties."""
    received_at = received_at or timezone.now()
    sample = content[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(content), delimiter=delimiter)
    headers = [h.strip() for h in (reader.fieldnames or [])]
    errors: list[dict[str, Any]] = []
    messages: list[Message] = []
    missing = [c.name for c in EVENT_CSV_COLUMNS if c.required and c.name not in headers]
    if missing:
        errors.append(
            {"line": 1, "message": _("Missing columns: %(cols)s.") % {"cols": ", ".join(missing)}}
        )
        return EventImportPlan(headers=headers, messages=[], errors=errors, rows=0)
    rows = 0
    for rows, raw in enumerate(reader, start=1):
        line = reader.line_num
        if rows > settings.CSV_IMPORT_MAX_ROWS:
            errors.append(
                {
                    "line": line,
                    "message": _("More than %(max)d rows; split the file.")
                    % {"max": settings.CSV_IMPORT_MAX_ROWS},
                }
            )
            break
        cells = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        row: dict[str, Any] = {k: v for k, v in cells.items() if k in _KNOWN_COLUMNS and v}
        extra = {k: v for k, v in cells.items() if k not in _KNOWN_COLUMNS and v}
        try:
            properties = json.loads(row["properties"]) if row.get("properties") else {}
        except ValueError:
            errors.append({"line": line, "message": _("properties: not valid JSON.")})
            continue
        if not isinstance(properties, dict):
            errors.append({"line": line, "message": _("properties: expected a JSON object.")})
            continue
        row["properties"] = {**extra, **properties}
        try:
            messages.append(
                native_row_parse(
                    row, received_at=received_at, max_bytes=settings.TRACKING_MAX_CALL_BYTES
                )
            )
        except Invalid as exc:
            text = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.errors.items())
            errors.append({"line": line, "message": text})
    return EventImportPlan(headers=headers, messages=messages, errors=errors, rows=rows)


def event_import_create(*, filename: str, raw: bytes, actor: User | None) -> EventImport:
    """Store an uploaded file with its report; nothing is ingested yet."""
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        content = ""
        plan = EventImportPlan(
            headers=[],
            messages=[],
            errors=[{"line": None, "message": _("The file is not UTF-8 text.")}],
            rows=0,
        )
    else:
        plan = event_import_plan(content=content)
    return job_create(model=EventImport, plan=plan, content=content, filename=filename, actor=actor)


def event_import_commit(*, job: EventImport) -> IngestResult:
    """Ingest a previewed file, all rows or none; raises ImportRejected."""
    return job_commit(
        job=job,
        replan=lambda job: event_import_plan(content=job.content),
        write=_event_import_write,
        refusals=_REFUSALS,
    )


def _event_import_write(plan: EventImportPlan, job: EventImport) -> IngestResult:
    result = events_ingest(messages=plan.messages)
    job_mark_committed(
        job=job,
        report={**job.report, "inserted": result.inserted, "duplicates": result.duplicates},
    )
    return result
