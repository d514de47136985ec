"""The double-random draw as a pure function of frozen inputs (no database).

Everything here is a function of the frozen candidate list, the frozen roster,
the frozen parameters and the seed, so the same inputs give the same villages
and teams on any machine and any database. ``manage.py verify_draw`` and the
public record use these functions unchanged; the README describes them for
re-implementation.

Formats (both hashed with SHA-256 over their UTF-8 bytes):

* **candidates**: one line per candidate, ``<12-digit code>,<weight>\\n``, sorted
  by code (strictly increasing), the weight a decimal with exactly six
  fractional digits (``1.500000``). No header.
* **roster**: canonical JSON (keys sorted, separators ``,`` and ``:``, UTF-8
  unescaped) of ``{"inspectors": [{"capacity": n, "credential": "…", "home":
  "<division code>"}…] sorted by credential, "previous_teams": {"<village
  code>": [positions in that list, ascending]}}``: for each candidate, the
  members of its latest inspection's team who are on the roster (villages
  with none are left out).

  Rosters of recusal rule 2 (``parameters["recusal"]["rule"] == 2``) add two
  keys to each inspector: ``"home_county"`` (the 6-digit county the inspector
  is from, or ``""`` when unknown) and ``"conflicts"`` (sorted code prefixes of
  the village where they live or work and of their declared personal
  conflicts). Rosters of rule 1 have neither and keep the old rule.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import itertools
import json
import math
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from inspections.common.randomness import keyed_uniforms, weighted_sample_sorted

WEIGHT_QUANTUM = Decimal("0.000001")
CODE_LENGTH = 12


class DrawInputError(ValueError):
    """The frozen inputs are malformed (never the case for stored draws)."""


@dataclass(frozen=True)
class UnstaffableVillage:
    code: str
    eligible: int
    reason: str


class UnstaffableError(Exception):
    """Some drawn villages cannot be given a full team; nothing is drawn."""

    def __init__(self, villages: list[UnstaffableVillage]) -> None:
        self.villages = villages
        super().__init__(", ".join(v.code for v in villages))


# --- Canonical serialisations -------------------------------------------------


def weight_text(weight: Decimal) -> str:
    """A weight as the candidate list stores it: six fractional digits."""
    return f"{weight.quantize(WEIGHT_QUANTUM):f}"


def candidates_serialise(rows: Iterable[tuple[str, Decimal]]) -> str:
    """The canonical candidate list of ``(code, weight)``, sorted by code."""
    return "".join(f"{code},{weight_text(weight)}\n" for code, weight in sorted(rows))


@dataclass(frozen=True)
class Candidates:
    codes: list[str]
    weights: list[float]


def candidates_parse(text: str, *, validate: bool = True) -> Candidates:
    """Read the canonical list back; refuses anything not in canonical form.

    ``validate=False`` skips the checks for a list this program serialised
    and the database keeps immutable (the draw itself); verification of a
    record always validates.
    """
    if not text:
        return Candidates([], [])
    if not text.endswith("\n"):
        raise DrawInputError("the candidate list must end with a newline")
    # One C-level split: 620,000 lines in a fraction of a second.
    flat = text[:-1].replace("\n", ",").split(",")
    if len(flat) % 2:
        raise DrawInputError("every line must be code,weight")
    codes = flat[0::2]
    weight_texts = flat[1::2]
    # Checked with C-level passes: this runs over every candidate of every draw.
    if validate and (set(map(len, codes)) != {CODE_LENGTH} or not "".join(codes).isdigit()):
        raise DrawInputError("codes must have 12 digits")
    if validate and not all(map(operator.lt, codes, itertools.islice(codes, 1, None))):
        raise DrawInputError("codes must be strictly increasing")
    parsed: dict[str, float] = {}
    for text_weight in set(weight_texts):
        if weight_text(Decimal(text_weight)) != text_weight or Decimal(text_weight) <= 0:
            raise DrawInputError(f"weight {text_weight!r} is not a positive six-decimal number")
        parsed[text_weight] = float(text_weight)
    return Candidates(codes, list(map(parsed.__getitem__, weight_texts)))


# Recusal rules, frozen in a draw's parameters as ``{"rule": n, "home_length": L}``.
# 1 (draws before the rule was corrected): recused from every village whose code starts with
#   the home division's code cut to 2, 4 or 6 digits — a provincial inspector from the whole
#   province. 2: recused from the home county (its code cut to ``home_length``: 6, or 4 / 2
#   for a plan's stricter rule), every village under one of the inspector's conflicts,
#   and the village's previous team.
RECUSAL_RULE_LEGACY = 1
RECUSAL_RULE = 2


@dataclass(frozen=True)
class RosterEntry:
    credential: str
    home: str
    capacity: int
    # Rule 2 only: the 6-digit home county ("" unknown) and the recusal prefixes.
    home_county: str = ""
    conflicts: tuple[str, ...] = ()

    @property
    def conflict_prefix(self) -> str:
        """Rule 1: villages starting with this are recused (the home county, or a wider home)."""
        return self.home[:6]

    def recused_from(self, code: str, *, home_length: int = 6) -> str | None:
        """Rule 2: why this inspector may not visit village ``code`` (or None): home county, conflict."""
        if self.home_county and code.startswith(self.home_county[:home_length]):
            return "home"
        if any(code.startswith(prefix) for prefix in self.conflicts):
            return "conflict"
        return None


@dataclass(frozen=True)
class Roster:
    inspectors: list[RosterEntry]
    previous_positions: dict[str, list[int]] = field(default_factory=dict)

    def previous_team(self, code: str) -> frozenset[str]:
        """Credentials of the village's previous team who are on the roster."""
        return frozenset(self.inspectors[i].credential for i in self.previous_positions.get(code, ()))


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _entry_document(entry: RosterEntry, rule: int) -> dict[str, Any]:
    document: dict[str, Any] = {
        "capacity": entry.capacity,
        "credential": entry.credential,
        "home": entry.home,
    }
    if rule >= RECUSAL_RULE:
        document["home_county"] = entry.home_county
        document["conflicts"] = sorted(set(entry.conflicts))
    return document


def roster_serialise(
    inspectors: Iterable[RosterEntry],
    previous_teams: Mapping[str, Iterable[str]],
    *,
    rule: int = RECUSAL_RULE_LEGACY,
) -> str:
    ordered = sorted(inspectors, key=lambda e: e.credential)
    position = {e.credential: i for i, e in enumerate(ordered)}
    previous: dict[str, list[int]] = {}
    for code, team in sorted(previous_teams.items()):
        on_roster = sorted(position[c] for c in team if c in position)
        if on_roster:
            previous[code] = on_roster
    return canonical_json(
        {
            "inspectors": [_entry_document(e, rule) for e in ordered],
            "previous_teams": previous,
        }
    )


def roster_parse(text: str) -> Roster:
    document = json.loads(text)
    inspectors = [
        RosterEntry(
            credential=e["credential"],
            home=e["home"],
            capacity=int(e["capacity"]),
            home_county=e.get("home_county", ""),
            conflicts=tuple(e.get("conflicts", ())),
        )
        for e in document["inspectors"]
    ]
    credentials = [e.credential for e in inspectors]
    if credentials != sorted(set(credentials)):
        raise DrawInputError("roster credentials must be unique and sorted")
    return Roster(inspectors, document["previous_teams"])


def sha256_hex(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def effective_seed(seed: bytes, beacon: str) -> bytes:
    """The seed the draw uses: the secret, mixed with the public beacon if there is one."""
    if not beacon:
        return seed
    return hmac.new(seed, b"beacon:" + beacon.encode(), hashlib.sha256).digest()


# --- Strata and allocation -----------------------------------------------------


def strata_bounds(codes: list[str], stratum_length: int) -> list[tuple[str, int, int]]:
    """``(stratum, start, end)`` of each stratum: a code prefix, contiguous in sorted codes."""
    bounds: list[tuple[str, int, int]] = []
    start = 0
    while start < len(codes):
        prefix = codes[start][:stratum_length]
        # ":" sorts after every digit, so this finds the end of the prefix's run.
        end = bisect.bisect_left(codes, prefix + ":", lo=start) if prefix else len(codes)
        bounds.append((prefix, start, end))
        start = end
    return bounds


def sample_size_for(*, rate: Decimal, candidates: int) -> int:
    """A rate becomes a size when the plan is committed: ceil(rate × candidates)."""
    return math.ceil(rate * candidates)


def allocate(sizes: Mapping[str, int], sample_size: int, minimum: int) -> dict[str, int]:
    """How many villages each stratum gives.

    Each stratum first gets ``min(minimum, size)``; the rest of the sample is
    shared in proportion to what each stratum has left (exact fractions, floor,
    then one more to the largest remainders, ties to the smaller stratum code).
    """
    total = sum(sizes.values())
    if sample_size > total:
        raise DrawInputError(f"a sample of {sample_size} from {total} candidates")
    allocation = {s: min(minimum, n) for s, n in sizes.items()}
    rest = sample_size - sum(allocation.values())
    if rest < 0:
        raise DrawInputError(f"the minimum per stratum needs {sum(allocation.values())} villages")
    left = {s: sizes[s] - allocation[s] for s in sizes}
    pool = sum(left.values())
    if rest and pool:
        # Exact: quota = rest × left / pool as an integer part and a remainder over pool.
        remainders: dict[str, int] = {}
        for s in sizes:
            whole, remainders[s] = divmod(rest * left[s], pool)
            allocation[s] += whole
        short = sample_size - sum(allocation.values())
        for s in sorted(sizes, key=lambda s: (-remainders[s], s))[:short]:
            allocation[s] += 1
    return allocation


# --- The draw --------------------------------------------------------------------


@dataclass(frozen=True)
class DrawnVillage:
    code: str
    stratum: str
    rank: int
    team: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "rank": self.rank, "stratum": self.stratum, "team": list(self.team)}


@dataclass(frozen=True)
class DrawResult:
    allocation: dict[str, int]
    villages: list[DrawnVillage]

    def as_dict(self) -> dict[str, Any]:
        return {
            "allocation": dict(sorted(self.allocation.items())),
            "villages": [v.as_dict() for v in self.villages],
        }

    def canonical(self) -> str:
        return canonical_json(self.as_dict())


def draw_villages(
    seed: bytes, candidates: Candidates, *, sample_size: int, minimum: int, stratum_length: int
) -> tuple[dict[str, int], list[tuple[str, str, int]]]:
    """Per stratum, the allocated number of villages by weighted sampling without replacement.

    Returns the allocation and ``(code, stratum, rank)`` in stratum order, then draw order.
    """
    bounds = strata_bounds(candidates.codes, stratum_length)
    allocation = allocate({s: end - start for s, start, end in bounds}, sample_size, minimum)
    drawn: list[tuple[str, str, int]] = []
    for stratum, start, end in bounds:
        codes = candidates.codes[start:end]
        chosen = weighted_sample_sorted(
            seed, f"village:{stratum}", codes, candidates.weights[start:end], allocation[stratum]
        )
        drawn.extend((codes[index], stratum, rank) for rank, index in enumerate(chosen, start=1))
    return allocation, drawn


def draw_teams(
    seed: bytes,
    villages: list[str],
    roster: Roster,
    *,
    team_size: int,
    pool_length: int,
    recusal_rule: int = RECUSAL_RULE_LEGACY,
    home_length: int = 6,
) -> dict[str, tuple[str, ...]]:
    """A team for each drawn village; raises :class:`UnstaffableError` naming the villages without one.

    The pool of a village is the roster's inspectors whose home code starts
    with the village code's first ``pool_length`` digits (all of them for 0),
    in credential order; member ``i`` gets number ``i`` of the stream
    ``team:<village code>`` and weight 1. Eligible: not recused (rule 1: the
    home code cut to 2, 4 or 6 digits starts the village code; rule 2: see
    :meth:`RosterEntry.recused_from`; both: on the village's previous team) and
    with capacity left. Villages are staffed in order of fewest statically
    eligible inspectors, then code; each drawn member's capacity goes down by one.
    """
    pools: dict[str, list[RosterEntry]] = {}
    for entry in roster.inspectors:
        pools.setdefault(entry.home[:pool_length], []).append(entry)
    # Per pool, the members' positions by conflict prefix (home code cut to 6 digits).
    conflicts: dict[str, dict[str, list[int]]] = {}
    for key, members in pools.items():
        by_prefix: dict[str, list[int]] = {}
        for position, entry in enumerate(members):
            by_prefix.setdefault(entry.conflict_prefix, []).append(position)
        conflicts[key] = by_prefix

    # Rule 2: per pool, positions by home county cut to home_length and by conflict prefix.
    homes: dict[str, dict[str, list[int]]] = {}
    named: dict[str, dict[str, list[int]]] = {}
    if recusal_rule >= RECUSAL_RULE:
        for key, members in pools.items():
            by_home: dict[str, list[int]] = {}
            by_conflict: dict[str, list[int]] = {}
            for position, entry in enumerate(members):
                if entry.home_county:
                    by_home.setdefault(entry.home_county[:home_length], []).append(position)
                for prefix in entry.conflicts:
                    by_conflict.setdefault(prefix, []).append(position)
            homes[key], named[key] = by_home, by_conflict
    conflict_lengths = sorted({len(p) for e in roster.inspectors for p in e.conflicts})

    def recused(code: str) -> set[int]:
        """Positions in the village's pool that may not go: home, conflicts, previous team."""
        key = code[:pool_length]
        if recusal_rule >= RECUSAL_RULE:
            positions = set(homes.get(key, {}).get(code[:home_length], []))
            by_conflict = named.get(key, {})
            positions.update(p for length in conflict_lengths for p in by_conflict.get(code[:length], []))
        else:
            by_prefix = conflicts.get(key, {})
            positions = {p for length in (2, 4, 6) for p in by_prefix.get(code[:length], [])}
        if code in roster.previous_positions:
            previous = roster.previous_team(code)
            positions.update(p for p, e in enumerate(pools.get(key, [])) if e.credential in previous)
        return positions

    excluded = {code: recused(code) for code in villages}
    static = {code: len(pools.get(code[:pool_length], [])) - len(excluded[code]) for code in villages}
    remaining = {e.credential: e.capacity for e in roster.inspectors}
    teams: dict[str, tuple[str, ...]] = {}
    failures: list[UnstaffableVillage] = []
    for code in sorted(villages, key=lambda c: (static[c], c)):
        pool = pools.get(code[:pool_length], [])
        uniforms = keyed_uniforms(seed, f"team:{code}", len(pool))
        out = excluded[code]
        eligible = [
            (u, e.credential)
            for position, (u, e) in enumerate(zip(uniforms, pool, strict=True))
            if position not in out and remaining[e.credential] > 0
        ]
        if len(eligible) < team_size:
            reason = (
                "not enough inspectors without a conflict"
                if static[code] < team_size
                else "the inspectors without a conflict are at full capacity"
            )
            failures.append(UnstaffableVillage(code, len(eligible), reason))
            continue
        # Efraimidis–Spirakis with weight 1: the largest ln(u) / 1 is the largest u.
        chosen = _top_by_uniform(eligible, team_size)
        for credential in chosen:
            remaining[credential] -= 1
        teams[code] = tuple(chosen)
    if failures:
        raise UnstaffableError(sorted(failures, key=lambda f: f.code))
    return teams


@dataclass(frozen=True)
class StratumStaffing:
    """A stratum's team slots against the roster that may serve it after recusal."""

    stratum: str
    villages: int
    slots: int
    inspectors: int
    capacity: int

    @property
    def shortfall(self) -> int:
        """Slots the capacity cannot fill, or a whole team if fewer inspectors than a team may go."""
        if self.villages and self.inspectors < self.slots // self.villages:
            return max(self.slots - self.capacity, self.slots // self.villages - self.inspectors, 1)
        return max(self.slots - self.capacity, 0)


def staffing(
    codes: list[str],
    allocation: Mapping[str, int],
    roster: Roster,
    *,
    stratum_length: int,
    team_size: int,
    pool_length: int,
    recusal_rule: int = RECUSAL_RULE,
    home_length: int = 6,
) -> list[StratumStaffing]:
    """Per stratum: villages to draw, team slots, and the inspectors (and their capacity) who may go.

    An inspector may serve a stratum when in the pool of one of its candidates and not
    recused from the whole stratum (the stratum lies inside their home area or a
    conflict). These are necessary conditions, checked before the seed decides which
    villages are drawn: a stratum short here can never be staffed. Capacity is shared
    between strata, so :func:`staffing_total` checks the sum too.
    """
    pools: dict[str, list[RosterEntry]] = {}
    for entry in roster.inspectors:
        pools.setdefault(entry.home[:pool_length], []).append(entry)
    rows: list[StratumStaffing] = []
    for stratum, start, end in strata_bounds(codes, stratum_length):
        needed = allocation.get(stratum, 0)
        if pool_length <= len(stratum):
            keys = [stratum[:pool_length]]
        else:
            keys = sorted({code[:pool_length] for code in codes[start:end]})
        members = [e for key in keys for e in pools.get(key, [])]
        if recusal_rule >= RECUSAL_RULE:

            def whole(entry: RosterEntry, stratum: str = stratum) -> bool:
                home = entry.home_county[:home_length]
                if home and len(stratum) >= len(home) and stratum.startswith(home):
                    return True
                return any(len(stratum) >= len(p) and stratum.startswith(p) for p in entry.conflicts)

        else:

            def whole(entry: RosterEntry, stratum: str = stratum) -> bool:
                prefix = entry.conflict_prefix
                return len(stratum) >= len(prefix) and stratum.startswith(prefix)

        free = [e for e in members if not whole(e)]
        rows.append(
            StratumStaffing(
                stratum=stratum,
                villages=needed,
                slots=needed * team_size,
                inspectors=len(free),
                capacity=sum(e.capacity for e in free),
            )
        )
    return rows


def staffing_total(roster: Roster, rows: Iterable[StratumStaffing]) -> tuple[int, int]:
    """All team slots of the plan against the whole roster's capacity."""
    return sum(r.slots for r in rows), sum(e.capacity for e in roster.inspectors)


def _top_by_uniform(eligible: list[tuple[float, str]], k: int) -> list[str]:
    """The ``k`` members with the largest numbers (ties by credential), in draw order."""
    ordered = sorted(eligible, key=lambda item: (-item[0], item[1]))
    return [credential for _u, credential in ordered[:k]]


@dataclass(frozen=True)
class DrawParameters:
    sample_size: int
    min_per_stratum: int
    stratum_length: int
    team_size: int
    team_pool_length: int
    recusal_rule: int = RECUSAL_RULE_LEGACY
    recusal_home_length: int = 6
    # The key stratum (重点村, format 4): its frozen codes and how many of them are drawn.
    # Empty for plans without a key rate and for every draw committed before format 4.
    key_codes: tuple[str, ...] = ()
    key_sample_size: int = 0

    @classmethod
    def from_frozen(cls, parameters: Mapping[str, Any]) -> DrawParameters:
        """Parameters without ``"recusal"`` (draws committed before rule 2) keep rule 1;
        without ``"key"`` (before format 4, or no key rate) there is no key stratum."""
        recusal = parameters.get("recusal") or {"rule": RECUSAL_RULE_LEGACY, "home_length": 6}
        key = parameters.get("key") or {}
        return cls(
            sample_size=int(parameters["sample_size"]),
            min_per_stratum=int(parameters["min_per_stratum"]),
            stratum_length=int(parameters["stratum_length"]),
            team_size=int(parameters["team_size"]),
            team_pool_length=int(parameters["team_pool_length"]),
            recusal_rule=int(recusal["rule"]),
            recusal_home_length=int(recusal["home_length"]),
            key_codes=tuple(key.get("codes", ())),
            key_sample_size=int(key.get("sample_size", 0)),
        )


# The key stratum's name in a result, its allocation and its assignments: it sorts after
# every code prefix, so the key villages come last.
KEY_STRATUM = "key"


def candidates_split(candidates: Candidates, key_codes: Iterable[str]) -> tuple[Candidates, Candidates]:
    """The key candidates and the rest, each in code order (``key_codes`` not among them are ignored)."""
    key = set(key_codes)
    inside = Candidates([], [])
    outside = Candidates([], [])
    for code, weight in zip(candidates.codes, candidates.weights, strict=True):
        side = inside if code in key else outside
        side.codes.append(code)
        side.weights.append(weight)
    return inside, outside


def draw_key_villages(seed: bytes, key: Candidates, sample_size: int) -> list[tuple[str, str, int]]:
    """The key stratum: ``sample_size`` of the key candidates by the same weighted draw, stream
    ``village:key``; ``(code, "key", rank)`` in draw order."""
    if sample_size > len(key.codes):
        raise DrawInputError(f"a key sample of {sample_size} from {len(key.codes)} key villages")
    chosen = weighted_sample_sorted(seed, f"village:{KEY_STRATUM}", key.codes, key.weights, sample_size)
    return [(key.codes[index], KEY_STRATUM, rank) for rank, index in enumerate(chosen, start=1)]


def draw_compute(
    *,
    seed: bytes,
    beacon: str,
    candidates_text: str,
    roster_text: str,
    parameters: DrawParameters,
    validate: bool = True,
) -> DrawResult:
    """The whole draw: villages per stratum, then their teams."""
    seed = effective_seed(seed, beacon)
    candidates = candidates_parse(candidates_text, validate=validate)
    key_drawn: list[tuple[str, str, int]] = []
    if parameters.key_codes:
        key, candidates = candidates_split(candidates, parameters.key_codes)
        if validate and len(key.codes) != len(set(parameters.key_codes)):
            raise DrawInputError("every frozen key village must be a candidate")
        key_drawn = draw_key_villages(seed, key, parameters.key_sample_size)
    allocation, drawn = draw_villages(
        seed,
        candidates,
        sample_size=parameters.sample_size,
        minimum=parameters.min_per_stratum,
        stratum_length=parameters.stratum_length,
    )
    if parameters.key_codes:
        allocation[KEY_STRATUM] = len(key_drawn)
        drawn += key_drawn
    teams = draw_teams(
        seed,
        [code for code, _s, _r in drawn],
        roster_parse(roster_text),
        team_size=parameters.team_size,
        pool_length=parameters.team_pool_length,
        recusal_rule=parameters.recusal_rule,
        home_length=parameters.recusal_home_length,
    )
    return DrawResult(
        allocation=allocation,
        villages=[DrawnVillage(code, stratum, rank, teams[code]) for code, stratum, rank in drawn],
    )


def first_difference(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> str | None:
    """A human description of the first place two results differ, or None."""
    if expected.get("allocation") != actual.get("allocation"):
        return f"allocation: stored {expected.get('allocation')} but recomputed {actual.get('allocation')}"
    stored: list[dict[str, Any]] = list(expected.get("villages", []))
    again: list[dict[str, Any]] = list(actual.get("villages", []))
    for index, (a, b) in enumerate(zip(stored, again, strict=False)):
        if a != b:
            return f"village #{index + 1}: stored {canonical_json(a)} but recomputed {canonical_json(b)}"
    if len(stored) != len(again):
        return f"stored {len(stored)} villages but recomputed {len(again)}"
    return None
