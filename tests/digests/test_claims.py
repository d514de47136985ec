"""The claim that keeps every digest to one send, proven by sequence rather than by racing workers.

Each test calls :func:`digest_claim` directly with the moment frozen in
``now=``: two claims "at the same time" are two calls with the same ``now``,
a worker that died is a claim nobody completed, and the timeout is crossed by
passing a later ``now``. No workers, no sleeps. (Real workers racing for
the same chunk are in ``tests/test_digest_delivery.py``.)
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings

from inspections.accounts.models import User
from inspections.digests.models import DigestKind, DigestSend
from inspections.digests.selectors import Period
from inspections.digests.services import digest_claim
from tests.builders import MONDAY, at, user

pytestmark = pytest.mark.django_db

WEEK = Period(kind=DigestKind.WEEKLY, start=MONDAY)
NOW = at(2025, 1, 13, 8)


def timeout() -> dt.timedelta:
    return dt.timedelta(seconds=settings.QINGSHAN_DIGEST_CLAIM_TIMEOUT_SECONDS)


def claim(person: User, now: dt.datetime) -> DigestSend | None:
    return digest_claim(recipient_id=person.pk, kind=DigestKind.WEEKLY, period=WEEK, now=now)


def record(person: User, **fields: object) -> DigestSend:
    return DigestSend.objects.create(
        recipient=person, kind=DigestKind.WEEKLY, period_start=WEEK.start, **fields
    )


def test_it_claims_a_send_nobody_holds() -> None:
    person = user()

    taken = claim(person, NOW)

    assert taken is not None
    assert (taken.status, taken.claimed_at, taken.attempts) == ("claimed", NOW, 1)
    assert taken.claim_token is not None
    assert DigestSend.objects.get() == taken


def test_it_refuses_a_second_claim_of_the_same_send_at_the_same_moment() -> None:
    person = user()
    first = claim(person, NOW)
    assert first is not None

    second = claim(person, NOW)

    assert second is None
    row = DigestSend.objects.get()
    assert (row.claim_token, row.attempts) == (first.claim_token, 1)


def test_it_respects_a_claim_until_the_timeout_has_passed() -> None:
    person = user()
    assert claim(person, NOW) is not None

    assert claim(person, NOW + timeout() - dt.timedelta(seconds=1)) is None
    assert claim(person, NOW + timeout()) is None


def test_it_lets_a_claim_older_than_the_timeout_be_taken_again() -> None:
    person = user()
    dead = claim(person, NOW)  # a worker claimed it and died before completing it
    assert dead is not None
    later = NOW + timeout() + dt.timedelta(seconds=1)

    taken = claim(person, later)

    assert taken is not None
    assert taken.claim_token != dead.claim_token
    assert (taken.claimed_at, taken.attempts) == (later, 2)


@pytest.mark.parametrize("status", ["sent", "skipped"])
def test_it_never_claims_a_send_that_is_done(status: str) -> None:
    person = user()
    record(person, status=status, completed_at=NOW, attempts=1)

    assert claim(person, NOW) is None
    assert claim(person, NOW + 100 * timeout()) is None
    assert DigestSend.objects.get().status == status


def test_it_claims_a_failed_send_again_while_attempts_remain() -> None:
    person = user()
    record(person, status="failed", attempts=settings.QINGSHAN_DIGEST_MAX_ATTEMPTS - 1)

    taken = claim(person, NOW)

    assert taken is not None and taken.attempts == settings.QINGSHAN_DIGEST_MAX_ATTEMPTS


def test_it_gives_up_on_a_send_that_failed_as_often_as_allowed() -> None:
    person = user()
    record(person, status="failed", attempts=settings.QINGSHAN_DIGEST_MAX_ATTEMPTS)

    assert claim(person, NOW) is None
