"""Beat entries of publication (written by :func:`inspections.common.schedules.ensure`)."""

from inspections.common.schedules import PeriodicEntry

ENTRIES = [
    # The name and task keep the "cases" prefix they shipped with: beat rows hold them.
    PeriodicEntry(
        name="cases: warn before results are due",
        task="inspections.cases.warn_publication_due",
        minute="30",
        hour="8",
        expires=3000,
    ),
    PeriodicEntry(
        name="publication: make the public copies still missing",
        task="inspections.publication.make_owed_public_images",
        minute="25",
        hour="*",
        expires=3000,
        description="Public copies of photos published in the last 30 days whose own task was never sent.",
    ),
]
