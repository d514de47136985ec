"""Targeted visits: 暗访, 专项, 举报核查, 督察交办核查 and 日常 of villages a supervisor names.

A targeted visit is not sampled: the organiser names the villages (one or a
list) and the window. Its team is either

* **drawn** by the team draw of sampling plans (:func:`inspections.sampling.draw.draw_teams`,
  recusal rule 2, every inspector of the villages' province in the pool), from a
  roster frozen at the order with a fresh secret seed whose SHA-256 is kept from
  the start; or
* **named** by the organiser, with a written reason, and checked against the same
  recusal (home county, declared conflicts, the village's previous team).

Each village becomes one inspection with the order's mode, the organiser as its
organiser and the team: the embargo of ``fieldwork.selectors.inspection_list``
then holds for it exactly as for a drawn visit. The order's record (mode, basis,
villages, teams, the reason or the roster and seed) is public once every one of
its visits is submitted or cancelled, and never before.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from inspections.accounts.models import Inspector, User
from inspections.fieldwork.models import Inspection
from inspections.sampling import draw as sampling_draw
from inspections.sampling.draw import RECUSAL_RULE, RosterEntry, UnstaffableError
from inspections.sampling.errors import (
    InvalidTeam,
    ReasonRequired,
    TeamTooSmall,
    UnknownVillages,
    WindowInPast,
)
from inspections.sampling.models import TargetedVisit
from inspections.sampling.services import conflict_prefixes, roster_entries, unstaffable_refusal
from villages.models import Village

OPEN = (Inspection.Status.SCHEDULED, Inspection.Status.IN_PROGRESS)


def _villages(user: User, codes: Sequence[str]) -> list[Village]:
    """The named villages, each once, all inside the organiser's jurisdiction."""
    wanted = sorted({c.strip() for c in codes if c.strip()})
    prefix = user.scope_prefix()
    found = {
        v.code: v
        for v in Village.objects.filter(code__in=wanted, is_active=True)
        if prefix is not None and v.code.startswith(prefix)
    }
    missing = [c for c in wanted if c not in found]
    if not wanted or missing:
        raise UnknownVillages.of(missing)
    return [found[c] for c in wanted]


def _previous_team(village: Village) -> set[str]:
    last = (
        Inspection.objects.filter(village=village, status=Inspection.Status.SUBMITTED)
        .order_by("-window_start", "-id")
        .first()
    )
    return set(last.team.values_list("credential_number", flat=True)) if last else set()


def _check_named(villages: list[Village], team: Sequence[Inspector], team_size: int) -> list[Inspector]:
    members = sorted({i.pk: i for i in team}.values(), key=lambda i: i.credential_number)
    problems: list[str] = []  # each once, in the order found
    if len(members) != team_size:
        problems.append(_("the team must have %(n)d members") % {"n": team_size})
    conflicts = conflict_prefixes([m.pk for m in members])
    loaded = Inspector.objects.filter(pk__in=[m.pk for m in members]).select_related(
        "home_division", "home_county", "user"
    )
    for village in villages:
        previous = _previous_team(village)
        for member in loaded:
            entry = RosterEntry(
                credential=member.credential_number,
                home=member.home_division.code,
                capacity=member.capacity,
                home_county=member.recusal_county_code(),
                conflicts=tuple(conflicts.get(member.pk, ())),
            )
            why = entry.recused_from(village.code)
            if not member.is_active or not member.user.is_active:
                problems.append(_("%(who)s is inactive") % {"who": member})
            elif why == "home":
                problems.append(
                    _("%(who)s is recused from %(village)s: home county")
                    % {"who": member, "village": village}
                )
            elif why == "conflict":
                problems.append(
                    _("%(who)s is recused from %(village)s: a declared conflict")
                    % {"who": member, "village": village}
                )
            elif member.credential_number in previous:
                problems.append(
                    _("%(who)s is recused from %(village)s: on the village's previous team")
                    % {"who": member, "village": village}
                )
    if problems:
        raise InvalidTeam.of(list(dict.fromkeys(problems)))
    return list(loaded)


@transaction.atomic
def targeted_visit_order(
    *,
    user: User,
    mode: str,
    village_codes: Sequence[str],
    window_start: datetime,
    window_end: datetime,
    team_size: int = 2,
    basis: str = "",
    named_team: Sequence[Inspector] | None = None,
    named_reason: str = "",
    now: datetime | None = None,
) -> TargetedVisit:
    """Order a targeted visit of one village or a list: one embargoed inspection each."""
    now = now or timezone.now()
    if mode not in {m.value for m in TargetedVisit.MODES}:
        raise ValueError(f"not a targeted mode: {mode!r}")
    if team_size < 2:
        raise TeamTooSmall
    if window_start <= now or window_end <= window_start:
        raise WindowInPast
    villages = _villages(user, village_codes)
    codes = [v.code for v in villages]
    parameters: dict[str, Any] = {
        "format": 1,
        "mode": mode,
        "villages": codes,
        "window_start": window_start.isoformat(),
        "window_end": window_end.isoformat(),
        "team_size": team_size,
        "recusal": {"rule": RECUSAL_RULE, "home_length": 6},
    }
    seed_hex = commitment = roster_text = ""
    if named_team is not None:
        named_reason = named_reason.strip()
        if len(named_reason) < 5:
            raise ReasonRequired(_("A named team needs a written reason."))
        members = _check_named(villages, named_team, team_size)
        teams = {code: tuple(sorted(m.credential_number for m in members)) for code in codes}
        choice = TargetedVisit.Choice.NAMED
    else:
        named_reason = ""
        province = codes[0][:2]
        # The pool: the villages' province (a list across provinces pools each village's own).
        pool_length = 2 if all(c.startswith(province) for c in codes) else 0
        parameters["team_pool_length"] = pool_length
        entries, previous = roster_entries(
            pool_prefix=province if pool_length else "", scope_code="", codes=set(codes)
        )
        roster_text = sampling_draw.roster_serialise(entries, previous, rule=RECUSAL_RULE)
        seed = secrets.token_bytes(32)
        try:
            teams = sampling_draw.draw_teams(
                seed,
                codes,
                sampling_draw.roster_parse(roster_text),
                team_size=team_size,
                pool_length=pool_length,
                recusal_rule=RECUSAL_RULE,
            )
        except UnstaffableError as error:
            raise unstaffable_refusal(error) from error
        seed_hex, commitment = seed.hex(), hashlib.sha256(seed).hexdigest()
        choice = TargetedVisit.Choice.DRAWN
    order = TargetedVisit.objects.create(
        mode=mode,
        basis=basis.strip(),
        window_start=window_start,
        window_end=window_end,
        team_size=team_size,
        team_choice=choice,
        named_reason=named_reason,
        parameters=parameters,
        roster=roster_text,
        roster_sha256=sampling_draw.sha256_hex(roster_text) if roster_text else "",
        seed=seed_hex,
        seed_commitment=commitment,
        result={code: list(team) for code, team in teams.items()},
        ordered_by=user,
        ordered_at=now,
    )
    by_credential = {
        i.credential_number: i
        for i in Inspector.objects.filter(credential_number__in={c for t in teams.values() for c in t})
    }
    for village in villages:
        inspection = Inspection.objects.create(
            mode=mode, village=village, window_start=window_start, window_end=window_end
        )
        inspection.team.set([by_credential[c] for c in teams[village.code]])
        inspection.organisers.add(user)
        order.inspections.add(inspection)
    return order


def targeted_visit_is_public(order: TargetedVisit) -> bool:
    """Public once every visit of the order is closed (submitted or cancelled)."""
    return not order.inspections.filter(status__in=OPEN).exists()


def targeted_visit_team_verify(record: dict[str, Any]) -> bool:
    """Re-run a drawn team from its public record: the same teams (needs no database)."""
    if record.get("team_choice") != TargetedVisit.Choice.DRAWN:
        return True
    seed = bytes.fromhex(record["revealed_seed"])
    if hashlib.sha256(seed).hexdigest() != record["seed_commitment"]:
        return False
    if sampling_draw.sha256_hex(record["roster"]) != record["roster_sha256"]:
        return False
    parameters = record["parameters"]
    teams = sampling_draw.draw_teams(
        seed,
        list(parameters["villages"]),
        sampling_draw.roster_parse(record["roster"]),
        team_size=int(parameters["team_size"]),
        pool_length=int(parameters["team_pool_length"]),
        recusal_rule=int(parameters["recusal"]["rule"]),
        home_length=int(parameters["recusal"]["home_length"]),
    )
    return {code: list(team) for code, team in teams.items()} == record["result"]
