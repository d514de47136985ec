from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class InspectionsConfig(AppConfig):
    name = "inspections"
    verbose_name = _("Inspections")

    def ready(self) -> None:
        from inspections.roles import sync_role_groups_after_migrate

        # Groups need the permissions rows, which exist only after migrate.
        post_migrate.connect(sync_role_groups_after_migrate, sender=self)

        from inspections.services.cases import schedules_setup

        post_migrate.connect(schedules_setup, sender=self)

        from inspections.services.digests import digest_schedules_setup

        post_migrate.connect(digest_schedules_setup, sender=self)

        from inspections.services.evidence import evidence_schedules_setup

        post_migrate.connect(evidence_schedules_setup, sender=self)
