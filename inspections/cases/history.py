"""Verifying the hash chain of case events (``manage.py verify_case_history``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.db import transaction

from inspections.cases.models import Case, CaseEvent
from inspections.common.china_time import local_date
from inspections.common.ledger import LEGACY_KEY_ID, ledger_current_key_id, ledger_hash, ledger_rewrite


def case_history_verify(*, case_ids: Sequence[int] | None = None, batch: int = 500) -> tuple[int, list[str]]:
    """Return ``(cases checked, problems)``; each problem names the case and the event.

    For each case: sequence numbers run 1..n without a gap, each event's hash
    is the HMAC of its content under the ledger key it names (an unkeyed
    legacy hash is reported: anyone could have recomputed it), each ``prev_hash`` is the previous event's
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


def _verify_chain(
    case_id: int, count: int, head: str, events: list[CaseEvent], *, accept_legacy: bool = False
) -> list[str]:
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
        if event.key_id == LEGACY_KEY_ID:
            if not accept_legacy:
                problems.append(f"{name}: unkeyed (legacy) hash: not signed with a ledger key")
            elif event.compute_hash() != event.hash:
                problems.append(f"{name}: content altered (hash mismatch)")
        else:
            expected = event.compute_hash()
            if expected is None:
                problems.append(f"{name}: signed with key {event.key_id}, which is not configured")
            elif not hmac.compare_digest(expected, event.hash):
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


@transaction.atomic
def case_history_resign(*, case_ids: Sequence[int] | None = None) -> tuple[int, list[str]]:
    """Re-sign every intact chain with the current ledger key; ``(cases re-signed, problems)``.

    The step of a key rotation that lets an old key be retired
    (``manage.py resign_case_history``). A chain that does not verify (under
    the keys configured, or as unkeyed legacy events) is left exactly as it
    is and its problems are returned: re-signing must never launder
    tampering. Each case row is locked while its chain is rewritten.
    """
    key_id = ledger_current_key_id()
    cases = Case.objects.order_by("id")
    if case_ids:
        cases = cases.filter(pk__in=case_ids)
    resigned = 0
    problems: list[str] = []
    with ledger_rewrite():
        for case in cases.select_for_update().only("id", "event_count", "last_event_hash"):
            events = list(CaseEvent.objects.filter(case_id=case.pk).order_by("seq"))
            found = _verify_chain(case.pk, case.event_count, case.last_event_hash, events, accept_legacy=True)
            if found:
                problems.extend(found)
                continue
            if all(event.key_id == key_id for event in events):
                continue
            previous = ""
            for event in events:
                event.key_id = key_id
                event.prev_hash = previous
                signed = event.compute_hash()
                assert signed is not None  # the current key is always configured
                CaseEvent.objects.filter(pk=event.pk).update(key_id=key_id, prev_hash=previous, hash=signed)
                previous = signed
            Case.objects.filter(pk=case.pk).update(last_event_hash=previous)
            resigned += 1
    return resigned, problems


def _content_digest(events: list[CaseEvent]) -> str:
    """SHA-256 over the events' content without the chain fields: it survives a re-signing."""
    digest = hashlib.sha256()
    for event in events:
        content = {k: v for k, v in event.content().items() if k != "prev_hash"}
        digest.update(json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def _anchor_signature(body: dict[str, Any], key_id: int) -> str | None:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return ledger_hash(canonical, key_id=key_id)


def case_history_anchor(*, now: dt.datetime) -> dict[str, Any]:
    """The chain heads of every case, signed with the ledger key, to keep outside the database.

    For each case: its event count and a digest of its events' content. Kept
    where the database's users cannot rewrite it (write-once storage), it lets
    :func:`case_history_check_anchor` notice later a history rewritten even
    by someone who holds the key. The digest leaves out the chain hashes, so
    a key rotation's re-signing keeps old anchors checkable.
    """
    heads: dict[str, dict[str, Any]] = {}
    events: dict[int, list[CaseEvent]] = {}
    for event in CaseEvent.objects.order_by("case_id", "seq").iterator():
        events.setdefault(event.case_id, []).append(event)
    for case_id, chain in events.items():
        heads[str(case_id)] = {"count": len(chain), "content": _content_digest(chain)}
    key_id = ledger_current_key_id()
    body: dict[str, Any] = {"written_at": now.isoformat(), "key_id": key_id, "heads": heads}
    return {**body, "signature": _anchor_signature(body, key_id)}


def case_history_anchor_write(*, folder: Path, now: dt.datetime) -> tuple[Path, int] | None:
    """Write today's anchor (China time) into ``folder``: its path and case count.

    ``None`` when today's file exists already: an anchor is never overwritten,
    so a second run of the day (a retried task, the command by hand) changes
    nothing. The file is created exclusively, then filled.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"case-heads-{local_date(now).isoformat()}.json"
    anchor = case_history_anchor(now=now)
    try:
        file = path.open("x", encoding="utf-8")
    except FileExistsError:
        return None
    with file:
        json.dump(anchor, file, ensure_ascii=False, sort_keys=True, indent=1)
    return path, len(anchor["heads"])


def case_history_check_anchor(anchor: dict[str, Any]) -> list[str]:
    """Problems of the history against an anchor: a bad signature, or cases whose first events changed."""
    body = {k: v for k, v in anchor.items() if k != "signature"}
    key_id = int(anchor.get("key_id", 0))
    if key_id == LEGACY_KEY_ID:
        return ["the anchor is not signed with a ledger key"]
    expected = _anchor_signature(body, key_id)
    if expected is None:
        return [f"the anchor is signed with key {key_id}, which is not configured"]
    if not hmac.compare_digest(expected, str(anchor.get("signature", ""))):
        return ["the anchor's signature does not match its content (the anchor was altered)"]
    problems: list[str] = []
    written = anchor.get("written_at", "?")
    for case_id, head in sorted(anchor.get("heads", {}).items(), key=lambda item: int(item[0])):
        chain = list(CaseEvent.objects.filter(case_id=int(case_id), seq__lte=head["count"]).order_by("seq"))
        if len(chain) != head["count"] or _content_digest(chain) != head["content"]:
            problems.append(
                f"case {case_id}: its first {head['count']} event(s) differ from the anchor of {written}"
            )
    return problems
