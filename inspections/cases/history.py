"""Verifying the hash chain of case events (``manage.py verify_case_history``)."""

from __future__ import annotations

from collections.abc import Sequence

from inspections.cases.models import Case, CaseEvent


def case_history_verify(*, case_ids: Sequence[int] | None = None, batch: int = 500) -> tuple[int, list[str]]:
    """Return ``(cases checked, problems)``; each problem names the case and the event.

    For each case: sequence numbers run 1..n without a gap, each event's hash
    is the hash of its content, each ``prev_hash`` is the previous event's
    hash, and the case's head (event count, last hash) matches the last event
    (so deleting the newest event is caught too). Streams the events in case
    order with one query per ``batch`` cases.
    """
    cases = Case.objects.order_by("id")
    if case_ids:
        cases = cases.filter(pk__in=case_ids)
    problems: list[str] = []
    checked = 0
    heads = list(cases.values_list("id", "event_count", "last_event_hash"))
    for start in range(0, len(heads), batch):
        chunk = heads[start : start + batch]
        events: dict[int, list[CaseEvent]] = {case_id: [] for case_id, _n, _h in chunk}
        for event in CaseEvent.objects.filter(case_id__in=list(events)).order_by("case_id", "seq").iterator():
            events[event.case_id].append(event)
        for case_id, count, head in chunk:
            checked += 1
            problems.extend(_verify_chain(case_id, count, head, events[case_id]))
    return checked, problems


def _verify_chain(case_id: int, count: int, head: str, events: list[CaseEvent]) -> list[str]:
    problems: list[str] = []
    previous_hash = ""
    expected_seq = 1
    for event in events:
        name = f"case {case_id}: event {event.pk} (seq {event.seq})"
        if event.seq != expected_seq:
            problems.append(
                f"{name}: expected seq {expected_seq}; event(s) seq {expected_seq}..{event.seq - 1} deleted"
            )
        if event.prev_hash != previous_hash:
            problems.append(f"{name}: previous hash does not match the event before it (deleted or altered)")
        if event.compute_hash() != event.hash:
            problems.append(f"{name}: content altered (hash mismatch)")
        previous_hash = event.hash
        expected_seq = event.seq + 1
    if len(events) != count or previous_hash != head:
        last = f"seq {events[-1].seq}" if events else "none"
        problems.append(
            f"case {case_id}: the case records {count} event(s) ending in {head[:12] or '-'}…, "
            f"the table holds {len(events)} ending at {last}: newest event(s) deleted or altered"
        )
    return problems
