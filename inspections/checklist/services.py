"""Loading the checklist of problem categories from ``seeds/``."""

from __future__ import annotations

import json
from pathlib import Path

from django.db import transaction

from inspections.checklist.models import ProblemCategory

FIELDS = ["name_zh_hans", "name_en", "domain", "default_severity", "rectification_days"]


@transaction.atomic
def checklist_load(*, path: Path) -> tuple[int, int]:
    """Create missing categories; keep administrators' edits to existing ones.

    Returns ``(created, unchanged)``. The seed is a starting point: once a
    category exists, the admin owns its names, severity and deadline.
    """
    entries = json.loads(path.read_text(encoding="utf-8"))
    created = 0
    for order, entry in enumerate(entries):
        _category, was_created = ProblemCategory.objects.get_or_create(
            code=entry["code"],
            defaults={**{name: entry[name] for name in FIELDS}, "sort_order": order * 10},
        )
        created += was_created
    return created, len(entries) - created
