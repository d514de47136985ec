"""Serializer fields the API's inputs share."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

# A phone whose clock was reset shows 1970; nothing earlier (or past 2099) is a clock at all,
# and Asia/Shanghai before 1901 is local mean time (+08:05:43), which no RFC 3339 reader takes.
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


class ClientDateTimeField(serializers.DateTimeField):
    """A time the phone gives (its clock, a capture time): with an offset, from 1970 to 2099."""

    default_error_messages = {
        "out_of_range": _("A time from 1970 to 2099 is expected."),
    }

    def __init__(self, **kwargs: Any) -> None:
        help_text = kwargs.pop("help_text", "")
        kwargs["help_text"] = f"{help_text} From 1970 to 2099.".strip()
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> dt.datetime:
        parsed: dt.datetime = super().to_internal_value(value)
        if not EARLIEST <= parsed < LATEST:
            self.fail("out_of_range")
        return parsed
