"""Every task sent by name exists and runs on a declared queue, and queues live in the settings only.

Domain code sends tasks by name (``inspections.common.dispatch``), so a typo or a
task nobody routes would only show in production, as a message no worker takes.
The names are read from the source (``enqueue_on_commit("…")``, ``task_send("…")``)
and from the beat entries. No database.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import pkgutil
from pathlib import Path

from django.conf import settings

import inspections
from config.celery import app
from inspections.common.schedules import PeriodicEntry

ROOT = Path(__file__).resolve().parents[2]
SOURCE_FOLDERS = ("inspections", "villages", "config")
DISPATCHERS = {"enqueue_on_commit", "enqueue_on_commit_or_sweep", "task_send", "task_send_bounded"}
DISPATCH_MODULE = ROOT / "inspections" / "common" / "dispatch.py"
SETTINGS_MODULE = ROOT / "config" / "settings.py"


def source_files() -> list[Path]:
    files: list[Path] = []
    for folder in SOURCE_FOLDERS:
        files.extend(path for path in sorted((ROOT / folder).rglob("*.py")) if "migrations" not in path.parts)
    return files


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


@functools.cache
def dispatched_names() -> tuple[dict[str, list[str]], list[str]]:
    """Task names sent by literal, each with where; and the sends whose name is not a literal."""
    names: dict[str, list[str]] = {}
    unreadable: list[str] = []
    for path in source_files():
        if path == DISPATCH_MODULE:
            continue  # the dispatcher itself passes its parameter on
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for call in ast.walk(tree):
            if not (isinstance(call, ast.Call) and _called_name(call) in DISPATCHERS):
                continue
            where = f"{path.relative_to(ROOT)}:{call.lineno}"
            first = call.args[0] if call.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.setdefault(first.value, []).append(where)
            else:
                unreadable.append(where)
    return names, unreadable


def beat_entries() -> list[PeriodicEntry]:
    """The ``ENTRIES`` of every concern's ``schedules`` module."""
    entries: list[PeriodicEntry] = []
    for concern in pkgutil.iter_modules(inspections.__path__, prefix="inspections."):
        if concern.ispkg and importlib.util.find_spec(f"{concern.name}.schedules") is not None:
            module = importlib.import_module(f"{concern.name}.schedules")
            entries.extend(getattr(module, "ENTRIES", []))
    return entries


def declared_queues() -> set[str]:
    return {queue.name for queue in app.conf.task_queues}


def routing_problems(task_name: str) -> list[str]:
    """Why ``task_name`` would not reach a worker as configured (empty when it would)."""
    problems: list[str] = []
    if task_name not in app.tasks:
        problems.append("not a registered task")
    route = settings.CELERY_TASK_ROUTES.get(task_name)
    if route is None:
        problems.append("not in CELERY_TASK_ROUTES")
        return problems
    if route.get("queue") not in declared_queues():
        problems.append(f"routed to {route.get('queue')!r}, not a queue of app.conf.task_queues")
    resolved = app.amqp.router.route({}, task_name)["queue"].name
    if resolved != route.get("queue"):
        problems.append(f"Celery's router sends it to {resolved!r}, not {route.get('queue')!r}")
    return problems


def test_it_finds_the_dispatched_names_in_the_source():
    names, unreadable = dispatched_names()
    assert names, "no enqueue_on_commit/task_send call found: the scan is broken"
    assert unreadable == [], f"send tasks by a literal name, so this test can check it: {unreadable}"


def test_it_registers_and_routes_every_dispatched_task():
    names, _unreadable = dispatched_names()
    problems = {
        name: (routing_problems(name), where) for name, where in names.items() if routing_problems(name)
    }
    assert problems == {}


def test_it_registers_and_routes_every_beat_task():
    entries = beat_entries()
    assert entries, "no beat entries found: the scan is broken"
    problems = {
        entry.name: (entry.task, routing_problems(entry.task))
        for entry in entries
        if routing_problems(entry.task)
    }
    assert problems == {}


def test_it_routes_every_registered_project_task():
    project_tasks = sorted(name for name in app.tasks if name.startswith("inspections."))
    assert project_tasks, "no inspections.* task is registered"
    problems = {name: routing_problems(name) for name in project_tasks if routing_problems(name)}
    assert problems == {}


def _is_literal(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def test_it_names_queues_only_in_the_settings():
    """No ``queue="…"`` and no ``{"queue": "…"}`` outside config/settings.py (a value read from
    the settings, as the beat rows do, is fine)."""
    literals: list[str] = []
    for path in source_files():
        if path == SETTINGS_MODULE:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "queue" and _is_literal(keyword.value):
                        literals.append(f"{path.relative_to(ROOT)}:{node.lineno} queue=")
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if _is_literal(key) and getattr(key, "value", None) == "queue" and _is_literal(value):
                        literals.append(f'{path.relative_to(ROOT)}:{node.lineno} "queue":')
    assert literals == []
