"""Who covers what: the jurisdiction subtree an account sees.

An account's scope is a division-code prefix (:meth:`User.scope_prefix`):
``""`` for superusers (the whole country), the jurisdiction's code for
supervisors and responsible parties, ``None`` (nothing) for anyone else,
inspectors included: what an inspector sees comes from their assignments,
never from a subtree.
"""

from __future__ import annotations

from inspections.accounts.models import User


def user_covers(user: User, code: str) -> bool:
    """Whether the division or village ``code`` lies in the subtree ``user`` sees."""
    prefix = user.scope_prefix()
    return prefix is not None and code.startswith(prefix)
