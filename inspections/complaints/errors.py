"""The refusals of complaints (codes never change).

===========================  ======  =============================================
code                         status  when
===========================  ======  =============================================
``complaint_already_checked``  409   a second 核查 visit for one complaint
``complaint_no_village``       422   a 核查 visit for a complaint not placed in a village
``complaint_already_replied``  409   a second reply
``reply_empty``                400   a reply without text
``complaint_ticket_exists``    409   a complaint whose source and ticket number are recorded already
===========================  ======  =============================================
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from inspections.common.errors import DomainError


class ComplaintError(DomainError):
    """Any refusal of a complaint."""


class ComplaintAlreadyChecked(ComplaintError):
    code = "complaint_already_checked"
    status = 409
    default_detail = _("This complaint already has its 核查 visit.")


class ComplaintNoVillage(ComplaintError):
    code = "complaint_no_village"
    status = 422
    default_detail = _("Place the complaint in a village before ordering its 核查 visit.")


class ComplaintAlreadyReplied(ComplaintError):
    code = "complaint_already_replied"
    status = 409
    default_detail = _("The complainant has been answered already.")


class ReplyEmpty(ComplaintError):
    code = "reply_empty"
    status = 400
    default_detail = _("The reply to the complainant is empty.")


class ComplaintTicketExists(ComplaintError):
    code = "complaint_ticket_exists"
    status = 409
    default_detail = _("A complaint with this source and ticket number is recorded already.")
