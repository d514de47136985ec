"""Compatibility re-exports: the builders are in ``tests/builders.py`` (import them from there)."""

from tests.builders import (
    InspectorFactory,
    ProblemCategoryFactory,
    UserFactory,
    division,
    inspector,
    responsible_party,
    supervisor,
    user,
    village,
)

__all__ = [
    "InspectorFactory",
    "ProblemCategoryFactory",
    "UserFactory",
    "division",
    "inspector",
    "responsible_party",
    "supervisor",
    "user",
    "village",
]
