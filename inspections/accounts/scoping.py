"""Jurisdiction scoping for the admin of every concern: a supervisor of county X sees X's subtree.

The mechanism is defined once, in :mod:`villages.scoping` (the villages
admin needs it too, and ``villages`` never imports ``inspections``); the
prefix it filters by is :meth:`inspections.accounts.models.User.scope_prefix`.
The admin modules of ``inspections`` import it from here, the concern that
owns accounts.
"""

from __future__ import annotations

from villages.scoping import JurisdictionScopedAdmin, request_prefix

__all__ = ["JurisdictionScopedAdmin", "request_prefix"]
