"""Compatibility re-exports: the builders are in ``tests/builders.py`` (import them from there)."""

from tests.builders import COUNTIES, organiser, plan, region, roster

__all__ = ["COUNTIES", "organiser", "plan", "region", "roster"]
