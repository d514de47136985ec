"""Complaints (12345 / 12369): the reporter stays with the intake role; the 核查 is a targeted visit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from inspections.accounts.models import Role
from inspections.common.errors import DomainError
from inspections.complaints.models import Complaint
from inspections.complaints.selectors import complaints_overdue
from inspections.complaints.services import complaint_order_check, complaint_reply
from inspections.fieldwork.models import Inspection
from inspections.fieldwork.selectors import inspection_list
from tests.builders import HUZHOU, region, roster, supervisor, village

pytestmark = pytest.mark.django_db

CONTACT = "13800138000"
NAME = "张某某"


def intake() -> Any:
    account = supervisor(HUZHOU)
    account.groups.add(Group.objects.get(name=Role.COMPLAINT_INTAKE))
    return account


def complaint(by: Any, **fields: Any) -> Complaint:
    values: dict[str, Any] = {
        "source": Complaint.Source.HOTLINE_12369,
        "ticket_number": "12369-20250107-0042",
        "received_at": timezone.now() - dt.timedelta(days=1),
        "content": "村口池塘发黑发臭",
        "village": village("330523101200"),
        "reporter_name": NAME,
        "reporter_contact": CONTACT,
        "reply_due": timezone.localdate() + dt.timedelta(days=10),
        "recorded_by": by,
        **fields,
    }
    return Complaint.objects.create(**values)


def pages(account: Any, record: Complaint) -> str:
    client = Client()
    client.force_login(account)
    return "".join(
        client.get(url).content.decode()
        for url in (
            "/admin/inspections/complaint/",
            f"/admin/inspections/complaint/{record.pk}/change/",
        )
    )


def test_only_the_intake_role_reads_the_reporter() -> None:
    region()
    record = complaint(intake())

    assert CONTACT in pages(intake(), record) and NAME in pages(intake(), record)
    colleague = pages(supervisor(HUZHOU), record)
    assert "12369-20250107-0042" in colleague  # the complaint itself is the jurisdiction's
    assert CONTACT not in colleague and NAME not in colleague


def test_the_check_is_an_embargoed_complaint_visit_whose_record_never_names_the_reporter() -> None:
    region()
    roster(per_county=2)
    by = intake()
    record = complaint(by)
    start = timezone.now() + dt.timedelta(days=1)

    record = complaint_order_check(
        complaint=record, user=by, window_start=start, window_end=start + dt.timedelta(days=1)
    )

    assert record.check_visit is not None
    (visit,) = record.check_visit.inspections.all()
    assert visit.mode == Inspection.Mode.REPORT
    assert inspection_list(user=by).filter(pk=visit.pk).exists()
    colleague = supervisor(HUZHOU)
    assert not inspection_list(user=colleague).filter(pk=visit.pk).exists()
    # Before the visit, the complaint's page is the same as without one.
    assert "举报核查" not in pages(colleague, record)
    with pytest.raises(DomainError) as again:
        complaint_order_check(
            complaint=record, user=by, window_start=start, window_end=start + dt.timedelta(days=1)
        )
    assert again.value.code == "complaint_already_checked"

    visit.close(to_status=Inspection.Status.SUBMITTED, now=timezone.now())
    public = Client().get(f"/api/v1/public/targeted-visits/{record.check_visit.pk}/").content.decode()
    assert "12369-20250107-0042" in public
    assert CONTACT not in public and NAME not in public


def test_overdue_replies_are_counted_until_answered() -> None:
    region()
    by = intake()
    late = complaint(by, reply_due=timezone.localdate() - dt.timedelta(days=1))
    complaint(by, ticket_number="12345-1", source=Complaint.Source.HOTLINE_12345)
    today = timezone.localdate()

    assert list(complaints_overdue(prefix=HUZHOU, today=today)) == [late]
    assert complaints_overdue(prefix="330521", today=today).count() == 0
    with pytest.raises(DomainError) as empty:
        complaint_reply(complaint=late, result="已核实", reply=" ")
    assert empty.value.code == "reply_empty"
    complaint_reply(complaint=late, result="已核实，已督促整改", reply="您反映的问题已核实并整改")

    assert complaints_overdue(prefix=HUZHOU, today=today).count() == 0
    with pytest.raises(DomainError) as twice:
        complaint_reply(complaint=late, result="x", reply="y")
    assert twice.value.code == "complaint_already_replied"
