"""django-axes, the login lockout, installed under a name and with records its admin shows in Chinese."""

from __future__ import annotations

from typing import Any

from axes.apps import AppConfig as AxesConfig
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from inspections.common.china_time import display


def _failed_login_count(attempt: Any) -> str:
    return gettext("failed logins of %(username)s since %(time)s") % {
        "username": attempt.username,
        "time": display(attempt.attempt_time),
    }


def _login(log: Any) -> str:
    return gettext("login of %(username)s at %(time)s") % {
        "username": log.username,
        "time": display(log.attempt_time),
    }


def _failed_login(failure: Any) -> str:
    text = (
        gettext("failed login of %(username)s at %(time)s from %(address)s, locked out")
        if failure.locked_out
        else gettext("failed login of %(username)s at %(time)s from %(address)s")
    )
    return text % {
        "username": failure.username,
        "time": display(failure.attempt_time),
        "address": failure.ip_address,
    }


class LoginLockoutConfig(AxesConfig):
    """axes' own configuration (its name, label and start-up unchanged), named for the admin.

    axes writes its records' names in English, untranslated (``Attempted Access: …``);
    the admin shows them as titles and in its breadcrumbs, so they are named here.
    """

    verbose_name = _("login lockouts")

    def ready(self) -> None:
        super().ready()
        from axes.models import AccessAttempt, AccessFailureLog, AccessLog

        AccessAttempt.__str__ = _failed_login_count  # type: ignore[method-assign,assignment]
        AccessLog.__str__ = _login  # type: ignore[method-assign,assignment]
        AccessFailureLog.__str__ = _failed_login  # type: ignore[method-assign,assignment]
