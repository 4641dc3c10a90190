"""The scorecard editor's writes: drafts, weights that add up, preview and publishing.

A scorecard is edited as a draft version next to the published one; publishing archives
the published version, makes the draft the published one and rescores every account (in
the background). Weights are percentages of their parent; a draft can be saved with any
weights, but only published once every level adds up to 100 (the editor offers to
spread the remainder). The preview scores every account the scorecard applies to with the
draft and counts how many would change colour, before anything is published.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from csplatform.models import User
from health.choices import ScoringMethod, VersionStatus
from health.measures import measure_kind
from health.models import HealthScore, Measure, MeasureGroup, Scorecard, ScorecardVersion
from health.services.scores import health_scores_for
from health.services.scoring import selection

HUNDRED = Decimal(100)
TWO = Decimal("0.01")


# The starter scorecard ---------------------------------------------------------------------

# (group, weight, [(kind, weight, options)]); each measure scored by its kind's default.
STARTER: list[tuple[str, int, list[tuple[str, int, dict[str, Any]]]]] = [
    (
        "Product usage",
        35,
        [
            ("mau_trend", 30, {}),
            ("stickiness", 20, {}),
            ("core_adoption", 25, {}),
            ("days_since_activity", 25, {}),
        ],
    ),
    ("Sentiment", 25, [("nps", 50, {}), ("csat", 20, {}), ("csm_sentiment", 30, {})]),
    ("Support", 15, [("open_p1_tickets", 50, {}), ("ticket_volume_trend", 50, {})]),
    (
        "Financial",
        15,
        [("mrr_trend", 50, {}), ("license_utilisation", 30, {}), ("days_to_renewal", 20, {})],
    ),
    ("Relationship", 10, [("sponsor_contact", 60, {}), ("overdue_tasks", 40, {})]),
]


def _measure_defaults(kind_key: str) -> dict[str, Any]:
    kind = measure_kind(kind_key)
    if kind is None:
        raise ValidationError({"kind": _("Unknown measure.")})
    scoring = kind.default_scoring
    if scoring["method"] == ScoringMethod.LINEAR:
        return {"method": ScoringMethod.LINEAR, "low": scoring["low"], "high": scoring["high"]}
    return {
        "method": ScoringMethod.BANDS,
        "bands": [{"from": str(b["from"]), "score": b["score"]} for b in scoring["bands"]],
    }


def scorecard_create_starter(
    *, name: str = "", actor: User | None = None, default: bool = True, publish: bool = True
) -> Scorecard:
    """The starter scorecard: usage, sentiment, support, financial and relationship."""
    with transaction.atomic():
        scorecard = Scorecard.objects.create(
            name=name or _("Customer health"),
            description=_(
                "Usage trend and depth, what customers say, support load, revenue and how "
                "engaged their executives are."
            ),
            is_default=default,
        )
        version = ScorecardVersion.objects.create(
            scorecard=scorecard, number=1, created_by=actor, note=_("Starter scorecard")
        )
        starter_tree(version=version)
        if publish:
            version_publish(version=version, actor=actor, rescore=False)
    return scorecard


# Drafts ----------------------------------------------------------------------------------


def version_draft(*, scorecard: Scorecard, actor: User | None = None) -> ScorecardVersion:
    """The scorecard's draft, made as a copy of the published version when there is none."""
    with transaction.atomic():
        Scorecard.objects.select_for_update().get(pk=scorecard.pk)
        draft = scorecard.versions.filter(status=VersionStatus.DRAFT).first()
        if draft is not None:
            return draft
        source = scorecard.versions.filter(status=VersionStatus.PUBLISHED).first()
        number = (scorecard.versions.aggregate(n=Max("number"))["n"] or 0) + 1
        draft = ScorecardVersion.objects.create(
            scorecard=scorecard,
            number=number,
            created_by=actor,
            red_max=source.red_max if source else Decimal(50),
            yellow_max=source.yellow_max if source else Decimal(75),
        )
        if source is not None:
            tree_copy(source=source, target=draft)
    return draft


def _require_draft(version: ScorecardVersion) -> None:
    if version.status != VersionStatus.DRAFT:
        raise ValidationError(_("Only a draft can be changed; start a new draft first."))


def group_save(*, group: MeasureGroup) -> MeasureGroup:
    _require_draft(group.version)
    group.full_clean()
    group.save()
    return group


def group_delete(*, group: MeasureGroup) -> None:
    _require_draft(group.version)
    group.delete()


def measure_errors(measure: Measure) -> dict[str, list[str]]:
    """What keeps a measure from scoring: an unknown kind, missing options, bad scoring."""
    errors: dict[str, list[str]] = {}
    kind = measure_kind(measure.kind)
    if kind is None:
        return {"kind": [_("Unknown measure.")]}
    for option in kind.options:
        if option.required and not str((measure.options or {}).get(option.name, "")).strip():
            errors.setdefault(option.name, []).append(_("This field is required."))
    if measure.method == ScoringMethod.LINEAR:
        if measure.low is None or measure.high is None:
            errors.setdefault("low", []).append(_("Enter the values scoring 0 and 100."))
        elif measure.low == measure.high:
            errors.setdefault("high", []).append(_("The values scoring 0 and 100 must differ."))
    else:
        bands = measure.bands or []
        starts = []
        for band in bands:
            try:
                start, score = Decimal(str(band["from"])), Decimal(str(band["score"]))
            except (KeyError, TypeError, ArithmeticError, ValueError):
                errors.setdefault("bands", []).append(_("Each band needs a start and a score."))
                break
            if not 0 <= score <= 100:
                errors.setdefault("bands", []).append(_("Band scores run from 0 to 100."))
            starts.append(start)
        if not bands:
            errors.setdefault("bands", []).append(_("Add at least one band."))
        elif len(set(starts)) != len(starts):
            errors.setdefault("bands", []).append(_("Two bands start at the same value."))
    return errors


def measure_name(measure: Measure) -> str:
    """What people call a measure: its label, else its kind's name."""
    kind = measure_kind(measure.kind)
    return measure.label or (str(kind.label) if kind else measure.kind)


def measure_save(*, measure: Measure) -> Measure:
    _require_draft(measure.group.version)
    errors = measure_errors(measure)
    if errors:
        raise ValidationError(errors)
    measure.full_clean()
    measure.save()
    return measure


def measure_delete(*, measure: Measure) -> None:
    _require_draft(measure.group.version)
    measure.delete()


def _spread(weights: Sequence[Decimal]) -> list[Decimal]:
    """Scale weights to add up to exactly 100 (two decimals; the last takes the rounding)."""
    total = sum(weights, Decimal(0))
    if not weights:
        return []
    if total <= 0:
        even = (HUNDRED / len(weights)).quantize(TWO, rounding=ROUND_HALF_UP)
        scaled = [even] * len(weights)
    else:
        scaled = [(w * HUNDRED / total).quantize(TWO, rounding=ROUND_HALF_UP) for w in weights]
    scaled[-1] += HUNDRED - sum(scaled, Decimal(0))
    return scaled


def weights_normalise(*, version: ScorecardVersion) -> None:
    """Make every level of the draft add up to 100, keeping the proportions."""
    _require_draft(version)
    with transaction.atomic():
        groups = list(version.groups.order_by("position", "pk"))
        for group, weight in zip(groups, _spread([g.weight for g in groups]), strict=True):
            group.weight = weight
            measures = list(group.measures.order_by("position", "pk"))
            for measure, w in zip(measures, _spread([m.weight for m in measures]), strict=True):
                measure.weight = w
            Measure.objects.bulk_update(measures, ["weight"])
        MeasureGroup.objects.bulk_update(groups, ["weight"])


def version_problems(version: ScorecardVersion) -> list[str]:
    """Why a version cannot be published (empty: it can)."""
    problems: list[str] = []
    groups = list(version.groups.prefetch_related("measures"))
    if not groups:
        return [_("Add at least one group of measures.")]
    if sum((g.weight for g in groups), Decimal(0)) != HUNDRED:
        problems.append(
            _("The group weights add up to %(total)s %%, not 100 %%.")
            % {"total": f"{sum((g.weight for g in groups), Decimal(0)).normalize():f}"}
        )
    for group in groups:
        measures = list(group.measures.all())
        if not measures:
            problems.append(_("“%(group)s” has no measure.") % {"group": group.name})
            continue
        total = sum((m.weight for m in measures), Decimal(0))
        if total != HUNDRED:
            problems.append(
                _("The measure weights of “%(group)s” add up to %(total)s %%, not 100 %%.")
                % {"group": group.name, "total": f"{total.normalize():f}"}
            )
        for measure in measures:
            if measure_errors(measure):
                problems.append(
                    _("“%(measure)s” in “%(group)s” is not set up completely.")
                    % {"measure": measure_name(measure), "group": group.name}
                )
    if not version.red_max < version.yellow_max:
        problems.append(_("Red must end below where yellow ends."))
    return problems


def version_publish(
    *, version: ScorecardVersion, actor: User | None = None, rescore: bool = True
) -> ScorecardVersion:
    """Publish a draft (the published version is archived) and rescore the accounts."""
    from health.tasks import health_recalculate_all

    with transaction.atomic():
        version = ScorecardVersion.objects.select_for_update().get(pk=version.pk)
        _require_draft(version)
        problems = version_problems(version)
        if problems:
            raise ValidationError(problems)
        version.scorecard.versions.filter(status=VersionStatus.PUBLISHED).update(
            status=VersionStatus.ARCHIVED
        )
        version.status = VersionStatus.PUBLISHED
        version.published_at = timezone.now()
        version.published_by = actor
        version.save(update_fields=["status", "published_at", "published_by"])
        if rescore:
            transaction.on_commit(lambda: health_recalculate_all.delay(), robust=True)
    return version


# Preview -----------------------------------------------------------------------------------


@dataclass
class Preview:
    """What publishing a draft would do to the accounts it applies to today."""

    accounts: int = 0
    scored: int = 0
    # (old colour, new colour) → accounts; "" is "no score".
    moves: Counter[tuple[str, str]] = field(default_factory=Counter)
    # The accounts that would change colour, biggest score change first: (id, old, new).
    changed: list[tuple[int, Decimal | None, Decimal | None]] = field(default_factory=list)

    @property
    def changing(self) -> int:
        return sum(n for (old, new), n in self.moves.items() if old != new)


def version_preview(*, version: ScorecardVersion, limit: int = 50) -> Preview:
    """Score today with `version` every customer its scorecard would apply to, and compare
    with the scores in force."""
    today = timezone.now().date()
    applies = accounts_of(version.scorecard)
    scores = health_scores_for(version=version, pairs=[(pk, today) for pk in applies])
    current = {
        pk: (score, color or "")
        for pk, score, color in HealthScore.objects.filter(account_id__in=applies).values_list(
            "account_id", "score", "color"
        )
    }
    preview = Preview(accounts=len(applies))
    deltas: list[tuple[Decimal, int, Decimal | None, Decimal | None]] = []
    for pk in applies:
        new = scores.get((pk, today))
        new_color = version.color_of(new) or ""
        old, old_color = current.get(pk, (None, ""))
        preview.moves[(old_color, new_color)] += 1
        if new is not None:
            preview.scored += 1
        if old_color != new_color:
            deltas.append((abs((new or Decimal(0)) - (old or Decimal(0))), pk, old, new))
    deltas.sort(key=lambda row: (-row[0], row[1]))
    preview.changed = [(pk, old, new) for _delta, pk, old, new in deltas[:limit]]
    return preview


def accounts_of(scorecard: Scorecard) -> list[int]:
    """The customers (not churned) a scorecard applies to, as if it were published."""
    sel = selection(also=scorecard)
    params: dict[str, Any] = {**sel.params, "sc": scorecard.pk}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.id FROM accounts_account a WHERE a.status <> 'churned'"
            f" AND ({sel.case_sql}) = %(sc)s ORDER BY a.id",
            params,
        )
        return [int(row[0]) for row in cursor.fetchall()]


# The editor's other writes ---------------------------------------------------------------

CRITERIA = ("tiers", "touch_models", "business_models", "lifecycle_stages")
# What decides which scorecard scores an account: a change rescores every account.
SELECTION_FIELDS = ("priority", "is_default", "is_active", *CRITERIA)


def starter_tree(*, version: ScorecardVersion) -> None:
    """Fill a version with the starter groups and measures (each scored by its default)."""
    for gi, (group_name, group_weight, measures) in enumerate(STARTER):
        group = MeasureGroup.objects.create(
            version=version, name=group_name, weight=Decimal(group_weight), position=gi
        )
        for mi, (kind, weight, options) in enumerate(measures):
            Measure.objects.create(
                group=group,
                kind=kind,
                weight=Decimal(weight),
                position=mi,
                options=options,
                **_measure_defaults(kind),
            )


def tree_copy(
    *,
    source: ScorecardVersion,
    target: ScorecardVersion,
    keep: Callable[[Measure], bool] | None = None,
) -> None:
    """Copy the groups and measures of `source` into `target` (optionally only the measures
    `keep` accepts); four queries whatever the size of the tree."""
    groups = list(source.groups.prefetch_related("measures"))
    copies = MeasureGroup.objects.bulk_create(
        [
            MeasureGroup(version=target, name=g.name, weight=g.weight, position=g.position)
            for g in groups
        ]
    )
    Measure.objects.bulk_create(
        [
            Measure(
                group=copy,
                kind=m.kind,
                label=m.label,
                weight=m.weight,
                position=m.position,
                method=m.method,
                bands=m.bands,
                low=m.low,
                high=m.high,
                options=m.options,
            )
            for group, copy in zip(groups, copies, strict=True)
            for m in group.measures.all()
            if keep is None or keep(m)
        ]
    )


def _rescore_later() -> None:
    from health.tasks import health_recalculate_all

    transaction.on_commit(lambda: health_recalculate_all.delay(), robust=True)


def _selection_of(scorecard: Scorecard) -> tuple[Any, ...]:
    return tuple(
        sorted(v) if isinstance(v, list) else v
        for v in (getattr(scorecard, name) for name in SELECTION_FIELDS)
    )


def scorecard_save(*, scorecard: Scorecard) -> Scorecard:
    """Create a scorecard or change its settings.

    Exactly one scorecard is the default: making one the default takes it from the other,
    and the default can be neither switched off nor lose the role but to another. The
    default scores every account that no other scorecard claims, so it has no criteria.
    A change to what selects accounts rescores them all (in the background).
    """
    errors: dict[str, list[str]] = {}
    for name in CRITERIA:
        setattr(scorecard, name, sorted({str(v) for v in getattr(scorecard, name) or []}))
    with transaction.atomic():
        # Lock the scorecards in a fixed order: two leads saving defaults at once serialise.
        current = {sc.pk: sc for sc in Scorecard.objects.select_for_update().order_by("pk")}
        before = current.get(scorecard.pk) if scorecard.pk else None
        if not current:
            scorecard.is_default = True  # the first scorecard scores everyone
        if before is not None and before.is_default and not scorecard.is_default:
            errors.setdefault("is_default", []).append(
                _("One scorecard is always the default: make another one the default instead.")
            )
        if scorecard.is_default and any(getattr(scorecard, name) for name in CRITERIA):
            errors.setdefault("is_default", []).append(
                _(
                    "The default scorecard scores every account no other scorecard claims: "
                    "leave its segment criteria empty."
                )
            )
        if scorecard.is_default and not scorecard.is_active:
            errors.setdefault("is_active", []).append(
                _("The default scorecard cannot be switched off.")
            )
        if errors:
            raise ValidationError(errors)
        if scorecard.is_default:
            Scorecard.objects.filter(is_default=True).exclude(pk=scorecard.pk).update(
                is_default=False
            )
        scorecard.full_clean()
        scorecard.save()
        published = scorecard.versions.filter(status=VersionStatus.PUBLISHED).exists()
        if published and (before is None or _selection_of(before) != _selection_of(scorecard)):
            _rescore_later()
    return scorecard


def scorecard_create(
    *,
    scorecard: Scorecard,
    start_from: Scorecard | str = "",
    actor: User | None = None,
) -> Scorecard:
    """A new scorecard with a first draft: empty, the starter tree ("starter") or a copy of
    another scorecard's published version (its draft when it has never been published)."""
    with transaction.atomic():
        scorecard_save(scorecard=scorecard)
        draft = version_draft(scorecard=scorecard, actor=actor)
        if start_from == "starter":
            starter_tree(version=draft)
        elif isinstance(start_from, Scorecard):
            source = start_from.versions.filter(
                status__in=[VersionStatus.PUBLISHED, VersionStatus.DRAFT]
            ).order_by("-status")  # "published" sorts after "draft"
            if (first := source.first()) is not None:
                tree_copy(source=first, target=draft)
                draft.red_max, draft.yellow_max = first.red_max, first.yellow_max
                draft.save(update_fields=["red_max", "yellow_max"])
    return scorecard


def scorecard_set_active(*, scorecard: Scorecard, active: bool) -> Scorecard:
    """Switch a scorecard on or off; its accounts fall to the next one that matches."""
    scorecard.is_active = active
    return scorecard_save(scorecard=scorecard)


def version_discard(*, version: ScorecardVersion) -> None:
    """Throw a draft away; the published version stays as it is."""
    _require_draft(version)
    version.delete()


def version_bands_save(
    *, version: ScorecardVersion, red_max: Decimal, yellow_max: Decimal, note: str = ""
) -> ScorecardVersion:
    """The draft's colour bands (red up to, yellow up to) and its note."""
    _require_draft(version)
    if not red_max < yellow_max:
        raise ValidationError({"yellow_max": [_("Red must end below where yellow ends.")]})
    version.red_max, version.yellow_max, version.note = red_max, yellow_max, note
    version.full_clean()
    version.save(update_fields=["red_max", "yellow_max", "note"])
    return version


def weights_save(
    *,
    version: ScorecardVersion,
    groups: Mapping[int, Decimal],
    measures: Mapping[int, Decimal],
) -> None:
    """Set the draft's group and measure weights at once (ids of other versions ignored)."""
    _require_draft(version)
    bad = [w for w in (*groups.values(), *measures.values()) if not 0 <= w <= HUNDRED]
    if bad:
        raise ValidationError(_("Weights run from 0 to 100 %."))
    with transaction.atomic():
        rows = list(version.groups.filter(pk__in=list(groups)))
        for group in rows:
            group.weight = groups[group.pk]
        MeasureGroup.objects.bulk_update(rows, ["weight"])
        items = list(Measure.objects.filter(group__version=version, pk__in=list(measures)))
        for measure in items:
            measure.weight = measures[measure.pk]
        Measure.objects.bulk_update(items, ["weight"])


def group_add(*, group: MeasureGroup) -> MeasureGroup:
    """A new group goes last."""
    if group.pk is None:
        last = group.version.groups.aggregate(p=Max("position"))["p"]
        group.position = 0 if last is None else last + 1
    return group_save(group=group)


def measure_add(*, measure: Measure) -> Measure:
    """A new measure goes last in its group."""
    if measure.pk is None:
        last = measure.group.measures.aggregate(p=Max("position"))["p"]
        measure.position = 0 if last is None else last + 1
    return measure_save(measure=measure)


def part_move(*, part: MeasureGroup | Measure, step: int) -> None:
    """Move a group or a measure up (step −1) or down (+1) among its siblings."""
    version = part.version if isinstance(part, MeasureGroup) else part.group.version
    _require_draft(version)
    siblings: list[Any] = list(
        version.groups.order_by("position", "pk")
        if isinstance(part, MeasureGroup)
        else part.group.measures.order_by("position", "pk")
    )
    i = next(n for n, s in enumerate(siblings) if s.pk == part.pk)
    j = i + step
    if not 0 <= j < len(siblings):
        return
    siblings[i], siblings[j] = siblings[j], siblings[i]
    for position, sibling in enumerate(siblings):
        sibling.position = position
    type(part).objects.bulk_update(siblings, ["position"])


def draft_publish(*, version: ScorecardVersion, note: str, actor: User | None) -> ScorecardVersion:
    """Publish a draft with a note of what changed (refused with the problems listed)."""
    with transaction.atomic():
        if note and version.status == VersionStatus.DRAFT:
            version.note = note[:255]
            version.save(update_fields=["note"])
        return version_publish(version=version, actor=actor)


def scorecard_add_starter(*, actor: User | None = None) -> Scorecard:
    """The starter scorecard, published as the default, when there is none yet; every
    account is scored with it in the background."""
    refused = ValidationError(
        _("There are scorecards already: start a new one from the starter measures instead.")
    )
    if Scorecard.objects.exists():
        raise refused
    try:
        with transaction.atomic():
            scorecard = scorecard_create_starter(actor=actor)
            _rescore_later()
    except IntegrityError:  # a second click at the same moment
        raise refused from None
    return scorecard
