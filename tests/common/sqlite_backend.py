"""The settings of a connection of the embedded runtime's SQLite backend to a file of a test's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def backend_settings(path: Path, *, timeout: float = 5, pool: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ``DATABASES`` entry for ``config.sqlite`` on ``path``, as the product's settings make it."""
    options: dict[str, Any] = {"transaction_mode": "IMMEDIATE", "timeout": timeout}
    if pool is not None:
        options["pool"] = pool
    return {
        "ENGINE": "config.sqlite",
        "NAME": str(path),
        "OPTIONS": options,
        "ATOMIC_REQUESTS": False,
        "AUTOCOMMIT": True,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "TIME_ZONE": None,
        "USER": "",
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
        "TEST": {},
    }
