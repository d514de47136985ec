"""Send, replay or preview digests by hand.

    manage.py send_digests --kind daily                     # the last complete day, to everyone missing it
    manage.py send_digests --kind weekly --period 2025-01-08 # that week (Monday to Sunday)
    manage.py send_digests --kind daily --to supervisor-anji # one recipient
    manage.py send_digests --kind daily --dry-run            # who would get what; nothing sent or recorded
    manage.py send_digests --kind daily --enqueue            # fan out to the email workers instead

Sends go through the same claims as the scheduled run: a digest already
sent or skipped for the period is not sent again, a failed or stale one is.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone

from inspections.accounts.models import User
from inspections.digests import services
from inspections.digests.emails import digest_message
from inspections.digests.models import DigestKind
from inspections.digests.recipients import digest_recipients
from inspections.digests.selectors import Period, digest_build, digest_prefix


class Command(BaseCommand):
    help = "Send the daily or weekly digest for a period (default: the last complete one)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", required=True, choices=DigestKind.values)
        parser.add_argument("--period", type=dt.date.fromisoformat, help="any day of the period (YYYY-MM-DD)")
        parser.add_argument("--to", help="only this recipient (username or email)")
        parser.add_argument("--dry-run", action="store_true", help="build and show; send and record nothing")
        parser.add_argument("--enqueue", action="store_true", help="fan out to the email workers")

    def handle(self, *args: Any, **options: Any) -> None:
        kind: str = options["kind"]
        if options["period"] is None:
            period = Period.last_complete(kind, timezone.now())
        else:
            period = Period.containing(kind, options["period"])
        recipients = digest_recipients(kind=kind).select_related("jurisdiction").order_by("pk")
        if options["to"]:
            wanted = options["to"]
            match = Q(username=wanted) | Q(email__iexact=wanted)
            if options["dry_run"]:
                # A preview may show anyone with a jurisdiction, recipient or not.
                recipients = User.objects.filter(jurisdiction__isnull=False).select_related("jurisdiction")
            recipients = recipients.filter(match)
            if not recipients.exists():
                raise CommandError(
                    f"{wanted} is not a {kind} digest recipient (address, jurisdiction, opt-in)."
                )
        self.stdout.write(f"{kind} digest for {period.label()}")
        if options["dry_run"]:
            self._dry_run(list(recipients), period, show_body=bool(options["to"]))
            return
        ids = list(recipients.values_list("pk", flat=True))
        if options["enqueue"]:
            chunks = services.digests_fan_out(kind=kind, period=period, recipient_ids=ids)
            self.stdout.write(f"enqueued {sum(len(c) for c in chunks)} recipients in {len(chunks)} chunks")
            return
        counts: dict[str, int] = {}
        for recipient_id in ids:
            try:
                outcome = services.digest_deliver(recipient_id=recipient_id, kind=kind, period=period)
            except services.DigestTransientError as exc:
                outcome = services.Outcome(recipient_id, "failed", str(exc))
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
            self.stdout.write(f"  user {recipient_id}: {outcome.status} {outcome.reason}".rstrip())
        self.stdout.write(
            ", ".join(f"{status} {n}" for status, n in sorted(counts.items())) or "no recipients"
        )

    def _dry_run(self, recipients: list[User], period: Period, *, show_body: bool) -> None:
        for recipient in recipients:
            prefix = digest_prefix(recipient)
            assert prefix is not None and recipient.jurisdiction is not None  # filtered on it above
            digest = digest_build(prefix=prefix, period=period, language=recipient.language)
            figures = " ".join(f"{name}={pair[0]}" for name, pair in digest.summary().items())
            state = "empty" if digest.is_empty else "would send"
            self.stdout.write(f"  {recipient.username} ({recipient.jurisdiction.code}): {state}; {figures}")
            if show_body:
                message = digest_message(
                    recipient=recipient, digest=digest, division_name=recipient.jurisdiction.name
                )
                self.stdout.write(f"Subject: {message.subject}\n\n{message.body}")
