"""Re-running a draw: identical, or the first difference (the ``verify_draw`` command's service).

:func:`record_verify` needs no database: it recomputes a draw from a record,
the public one (``GET /api/v1/public/draws/ID/``) or one built by
:func:`draw_record`. :func:`draw_verify` adds what only the database knows:
the stored result against its hash, and the live teams against the drawn ones
and the reassignment log.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from inspections.sampling import draw as sampling_draw
from inspections.sampling.draw import DrawInputError, DrawParameters, UnstaffableError
from inspections.sampling.models import Draw


@dataclass
class Verification:
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    difference: str | None = None

    @property
    def identical(self) -> bool:
        return self.difference is None and all(ok for _name, ok, _detail in self.checks)

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.checks.append((name, ok, detail))
        if not ok and self.difference is None:
            self.difference = f"{name}: {detail}"


def record_verify(record: dict[str, Any], *, seed_hex: str | None = None) -> Verification:
    """Recompute a draw from a record (the public one, or one built from the database)."""
    report = Verification()
    seed_hex = seed_hex or record.get("revealed_seed") or ""
    report.check(
        "candidate list hash",
        sampling_draw.sha256_hex(record["candidates"]) == record["candidates_sha256"],
        "SHA-256 of the stored list differs from the committed hash",
    )
    report.check(
        "roster hash",
        sampling_draw.sha256_hex(record["roster"]) == record["roster_sha256"],
        "SHA-256 of the stored roster differs from the committed hash",
    )
    if not seed_hex:
        report.check("seed", False, "the seed has not been revealed")
        return report
    report.check(
        "seed commitment",
        hashlib.sha256(bytes.fromhex(seed_hex)).hexdigest() == record["seed_commitment"],
        "SHA-256 of the revealed seed differs from the commitment",
    )
    if record.get("voided_at"):
        return _voided_verify(record, seed_hex, report)
    try:
        again = sampling_draw.draw_compute(
            seed=bytes.fromhex(seed_hex),
            beacon=record.get("beacon") or "",
            candidates_text=record["candidates"],
            roster_text=record["roster"],
            parameters=DrawParameters.from_frozen(record["parameters"]),
        )
    except (DrawInputError, UnstaffableError) as error:
        report.check("recomputation", False, f"the draw cannot be recomputed: {error}")
        return report
    difference = sampling_draw.first_difference(record["result"] or {}, again.as_dict())
    report.check("result", difference is None, difference or "")
    return report


def _voided_verify(record: dict[str, Any], seed_hex: str, report: Verification) -> Verification:
    """A voided draw never ran: it verifies if it really could not (unstaffable, or its window over)."""
    report.check("no result", not record.get("result"), "a voided draw has a result")
    window_end = (record.get("parameters") or {}).get("window_end") or ""
    if window_end and datetime.fromisoformat(record["voided_at"]) >= datetime.fromisoformat(window_end):
        report.check("void", True, "voided after its window ended")
        return report
    try:
        sampling_draw.draw_compute(
            seed=bytes.fromhex(seed_hex),
            beacon=record.get("beacon") or "",
            candidates_text=record["candidates"],
            roster_text=record["roster"],
            parameters=DrawParameters.from_frozen(record["parameters"]),
        )
    except UnstaffableError:
        report.check("void", True, "the draw cannot be staffed, as voided")
    except DrawInputError as error:
        report.check("recomputation", False, f"the draw cannot be recomputed: {error}")
    else:
        report.check("void", False, "the voided draw can be staffed: it should not have been voided")
    return report


def draw_record(*, draw: Draw, include_secret: bool = False) -> dict[str, Any]:
    """Everything needed to re-run a draw; the seed only once revealed (or for an operator's check)."""
    return {
        "id": draw.pk,
        "parameters": draw.parameters,
        "candidates": draw.candidates,
        "candidates_sha256": draw.candidates_sha256,
        "roster": draw.roster,
        "roster_sha256": draw.roster_sha256,
        "seed_commitment": draw.seed_commitment,
        "committed_at": draw.committed_at.isoformat(),
        "beacon": draw.beacon,
        "beacon_source": draw.beacon_source,
        "beacon_entered_at": draw.beacon_entered_at.isoformat() if draw.beacon_entered_at else None,
        # A voided draw never ran: its seed is public with the void.
        "revealed_seed": draw.seed if include_secret or draw.voided_at else draw.revealed_seed,
        "drawn_at": draw.drawn_at.isoformat() if draw.drawn_at else None,
        "result": draw.result,
        "result_sha256": draw.result_sha256,
        "published_at": draw.published_at.isoformat() if draw.published_at else None,
        "voided_at": draw.voided_at.isoformat() if draw.voided_at else None,
        "void_reason": draw.void_reason,
    }


def draw_verify(*, draw: Draw, use_secret_seed: bool = False) -> Verification:
    """Re-run a stored draw and compare; then check the live teams against the logged changes."""
    report = record_verify(draw_record(draw=draw, include_secret=use_secret_seed))
    if report.difference is not None or draw.result is None:
        return report
    report.check(
        "result hash",
        sampling_draw.sha256_hex(sampling_draw.canonical_json(draw.result)) == draw.result_sha256,
        "the stored result does not match its hash",
    )
    assignments = (
        draw.assignments.select_related("inspection__village")
        .prefetch_related("reassignments", "inspection__team")
        .order_by("stratum", "rank")
    )
    for assignment in assignments:
        expected = sorted(assignment.drawn_team)
        for change in assignment.reassignments.all():
            if sorted(change.team_before) != expected:
                report.check(
                    "reassignment log",
                    False,
                    f"{assignment.inspection.village.code}: a change starts from "
                    f"{change.team_before}, not {expected}",
                )
            expected = sorted(change.team_after)
        live = sorted(i.credential_number for i in assignment.inspection.team.all())
        if live != expected:
            report.check(
                "live teams",
                False,
                f"{assignment.inspection.village.code}: team {live} but the draw and its log say {expected}",
            )
    return report
