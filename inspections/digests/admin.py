"""Digests in the admin: subscriptions, the delivery log and a preview of any digest.

Everything is scoped like the rest of the admin: a supervisor sees the
subscriptions and sends of accounts inside their jurisdiction, and may
preview only the digest of such an account (whose figures are a subset of
their own).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import User
from inspections.common.admin import ReadOnlyAdminMixin
from inspections.common.china_time import local_date
from inspections.common.models import MailSend
from inspections.digests.emails import digest_message
from inspections.digests.models import DigestKind, DigestSend, DigestSubscription
from inspections.digests.selectors import Period, digest_build, digest_prefix
from villages.scoping import JurisdictionScopedAdmin, request_prefix


@admin.register(DigestSubscription)
class DigestSubscriptionAdmin(JurisdictionScopedAdmin):
    scope_code_field = "user__jurisdiction__code"
    list_display = ("user", "kind", "enabled", "send_empty", "updated_at")
    list_filter = ("kind", "enabled", "send_empty")
    search_fields = ("user__username", "user__email")
    raw_id_fields = ("user",)

    # A supervisor sees the subscriptions of their jurisdiction's accounts and chooses their
    # own: they add a row for a kind they want to change (no row means subscribed) and edit
    # only rows of their own. Administrators manage anyone's.

    def get_exclude(self, request: HttpRequest, obj: DigestSubscription | None = None) -> Any:
        if request.user.is_superuser:
            return super().get_exclude(request, obj)
        return ("user",)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        if not request.user.is_superuser and obj is None:
            own = request.user
            assert isinstance(own, User)
            taken = set(DigestSubscription.objects.filter(user=own).values_list("kind", flat=True))

            class OwnSubscriptionForm(form):  # type: ignore[misc, valid-type]
                def clean_kind(self) -> str:
                    kind: str = self.cleaned_data["kind"]
                    if kind in taken:
                        raise forms.ValidationError(
                            _("You already have a subscription of this kind: change that one.")
                        )
                    return kind

                def _post_clean(self) -> None:
                    # The user is not on the form, so the (user, kind) constraint is checked
                    # by clean_kind above, not here.
                    self.instance.user = own
                    super()._post_clean()

            return OwnSubscriptionForm
        return form

    def has_change_permission(self, request: HttpRequest, obj: DigestSubscription | None = None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or request.user.is_superuser or obj.user_id == request.user.pk

    def has_add_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return super().has_add_permission(request) and (
            user.is_superuser or user.has_perm("inspections.receive_digest")
        )

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        prefix = request_prefix(request)
        if db_field.name == "user" and prefix:
            kwargs["queryset"] = User.objects.filter(jurisdiction__code__startswith=prefix)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class PreviewForm(forms.Form):
    recipient = forms.ModelChoiceField(queryset=User.objects.none(), label=_("recipient"))
    kind = forms.ChoiceField(choices=DigestKind.choices, label=_("kind"))
    period = forms.DateField(
        label=_("period"),
        help_text=_("Any day of the period: the day itself, or its week (Monday to Sunday)."),
        # A date input reads ISO dates only, whatever the language's own date format.
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


@admin.register(DigestSend)
class DigestSendAdmin(ReadOnlyAdminMixin, JurisdictionScopedAdmin):
    """The delivery log: what was sent, skipped or failed, and why. Read-only."""

    scope_code_field = "recipient__jurisdiction__code"
    list_display = (
        "period_start",
        "kind",
        "recipient",
        "status",
        "reason",
        "attempts",
        "completed_at",
        "preview_link",
    )
    list_filter = ("kind", "status", "period_start")
    search_fields = ("recipient__username", "recipient__email")
    date_hierarchy = "period_start"
    list_select_related = ("recipient",)
    readonly_fields = (
        "recipient",
        "kind",
        "period_start",
        "status",
        "reason",
        "attempts",
        "claimed_at",
        "completed_at",
        "language",
        "message_id",
        "summary",
        "created_at",
    )
    exclude = ("claim_token",)

    @admin.display(description=_("preview"))
    def preview_link(self, obj: DigestSend) -> str:
        url = reverse("admin:inspections_digestsend_preview")
        return format_html(
            '<a href="{}?recipient={}&amp;kind={}&amp;period={}">{}</a>',
            url,
            obj.recipient_id,
            obj.kind,
            obj.period_start.isoformat(),
            _("preview"),
        )

    def get_urls(self) -> list[URLPattern]:
        preview = path(
            "preview/", self.admin_site.admin_view(self.preview_view), name="inspections_digestsend_preview"
        )
        return [preview, *super().get_urls()]

    def _previewable(self, request: HttpRequest) -> QuerySet[User]:
        prefix = request_prefix(request)
        users = User.objects.filter(jurisdiction__isnull=False).select_related("jurisdiction")
        if prefix is None:
            return users.none()
        if prefix:
            users = users.filter(jurisdiction__code__startswith=prefix)
        return users.order_by("username")

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        """The digest of any account in the viewer's scope for any period, rendered as the email."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = PreviewForm(request.GET or None)
        form.fields["recipient"].queryset = self._previewable(request)  # type: ignore[attr-defined]
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": _("Digest preview"),
            "opts": self.model._meta,
            "form": form,
        }
        if request.GET and form.is_valid():
            recipient: User = form.cleaned_data["recipient"]
            prefix = digest_prefix(recipient)
            assert prefix is not None and recipient.jurisdiction is not None  # previewable: has one
            period = Period.containing(form.cleaned_data["kind"], form.cleaned_data["period"])
            digest = digest_build(
                prefix=prefix,
                period=period,
                language=recipient.language,
                now=timezone.now(),
            )
            message = digest_message(
                recipient=recipient, digest=digest, division_name=recipient.jurisdiction.name, preview=True
            )
            html = next(content for content, mimetype in message.alternatives if mimetype == "text/html")
            context.update(
                {
                    "message": message,
                    "headers": [
                        (_HEADER_LABELS.get(name, name), name, value)
                        for name, value in {
                            "To": recipient.email or "—",
                            "Subject": message.subject,
                            **message.extra_headers,
                        }.items()
                    ],
                    "html": html,
                    "text": message.body,
                    "attachments": [(name, len(content)) for name, content, _mimetype in message.attachments],
                    "empty": digest.is_empty,
                    "period": period,
                    "sends": DigestSend.objects.filter(
                        recipient=recipient, kind=period.kind, period_start=period.start
                    ),
                }
            )
        elif not request.GET:
            yesterday = local_date(timezone.now()) - dt.timedelta(days=1)
            form.initial = {"kind": DigestKind.DAILY, "period": yesterday}
        return TemplateResponse(request, "admin/inspections/digestsend/preview.html", context)


# The preview names each email header in the reader's language, the header itself beside it
# (that and the headers' values are the email's own data, marked as not to be translated).
_HEADER_LABELS = {
    "To": _("recipient address"),
    "Subject": _("email subject"),
    "Message-ID": _("message identifier"),
    "List-Unsubscribe": _("unsubscribe link"),
    "List-Unsubscribe-Post": _("one-click unsubscribe"),
    "Auto-Submitted": _("sent automatically"),
    "List-Id": _("mailing list"),
    "Content-Language": _("email language"),
}


@admin.register(MailSend)
class MailSendAdmin(ReadOnlyAdminMixin, JurisdictionScopedAdmin):
    """The delivery log of the other emails (escalation notices, publication warnings). Read-only."""

    scope_code_field = "recipient__jurisdiction__code"
    list_display = ("created_at", "kind", "recipient", "status", "reason", "attempts", "completed_at")
    list_filter = ("kind", "status")
    search_fields = ("recipient__username", "recipient__email", "key")
    list_select_related = ("recipient",)
    readonly_fields = (
        "kind",
        "key",
        "recipient",
        "args",
        "status",
        "reason",
        "attempts",
        "claimed_at",
        "completed_at",
        "message_id",
        "created_at",
    )
    fields = readonly_fields
