"""The problem codes the API can answer are exactly the README's table.

A code the README does not list is a code a phone cannot know about; a code
the README lists that nothing raises is a promise nobody keeps. The codes come
from three places: the ``DomainError`` subclasses of every ``errors.py``, the
codes Django REST framework and the problem handler answer with, and (until
every concern has its ``errors.py``) the old ``Problem(status=…, code="…")``
literals, found by reading the source. No database.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import pkgutil
import re
from collections import defaultdict
from pathlib import Path

import inspections
from inspections.common.errors import DomainError

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SOURCE_FOLDERS = ("inspections", "villages", "config")

# Answered by DRF, simplejwt and inspections.api.problems for requests the domain never sees.
FRAMEWORK_CODES: dict[str, int] = {
    "validation_error": 400,
    "parse_error": 400,
    "bad_request": 400,
    "not_authenticated": 401,
    "authentication_failed": 401,
    "token_not_valid": 401,
    "password_changed": 401,
    "token_revoked": 401,
    "no_active_account": 401,
    "permission_denied": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "not_acceptable": 406,
    "unsupported_media_type": 415,
    "request_too_large": 413,
    "throttled": 429,
    "server_error": 500,
}


def domain_error_classes() -> list[type[DomainError]]:
    """Every DomainError subclass that declares its own code, after importing every errors module."""
    for concern in pkgutil.iter_modules(inspections.__path__, prefix="inspections."):
        if concern.ispkg and importlib.util.find_spec(f"{concern.name}.errors") is not None:
            importlib.import_module(f"{concern.name}.errors")
    found: list[type[DomainError]] = []
    pending = list(DomainError.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        # An intermediate base that only inherits its code is not a refusal of its own.
        if "code" in vars(cls):
            found.append(cls)
    return found


def _literal(node: ast.AST | None) -> str | int | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int):
        return node.value
    return None


def _problem_helpers(tree: ast.AST) -> dict[str, tuple[int, int | None, set[str]]]:
    """Functions that build a problem from a ``code`` parameter, like ``_conflict(code, detail)``.

    For each: the position of that parameter, the status it is built with, and the literal
    codes the parameter is compared with inside the function (``if code == "…"``).
    """
    helpers: dict[str, tuple[int, int | None, set[str]]] = {}
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef):
            continue
        parameters = [argument.arg for argument in function.args.args]
        for call in ast.walk(function):
            if not isinstance(call, ast.Call):
                continue
            keywords = {keyword.arg: keyword.value for keyword in call.keywords}
            code = keywords.get("code")
            if not (isinstance(code, ast.Name) and code.id in parameters):
                continue
            status = _literal(keywords.get("status"))
            compared: set[str] = set()
            for compare in ast.walk(function):
                if (
                    isinstance(compare, ast.Compare)
                    and isinstance(compare.left, ast.Name)
                    and compare.left.id == code.id
                ):
                    compared.update(str(c.value) for c in compare.comparators if isinstance(c, ast.Constant))
            helpers[function.name] = (
                parameters.index(code.id),
                status if isinstance(status, int) else None,
                compared,
            )
    return helpers


@functools.cache
def literal_problem_codes() -> dict[str, set[int | None]]:
    """Codes raised the old way: a call with literal ``code=`` and ``status=`` (or ``status_code=``).

    That covers ``Problem(...)``, a ``Problem`` subclass's ``super().__init__(...)`` and the
    handler's ``problem_response(...)``; plus the call sites of helpers such as ``_conflict``.
    """
    codes: dict[str, set[int | None]] = defaultdict(set)
    for folder in SOURCE_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            helpers = _problem_helpers(tree)
            for _position, status, compared in helpers.values():
                for code in compared:
                    codes[code].add(status)
            for call in ast.walk(tree):
                if not isinstance(call, ast.Call):
                    continue
                keywords = {keyword.arg: keyword.value for keyword in call.keywords}
                literal_code = _literal(keywords.get("code"))
                literal_status = _literal(keywords.get("status", keywords.get("status_code")))
                if isinstance(literal_code, str) and isinstance(literal_status, int):
                    codes[literal_code].add(literal_status)
                    continue
                name = getattr(call.func, "id", None)
                if name in helpers:
                    position, helper_status, _compared = helpers[name]
                    if len(call.args) > position and isinstance(_literal(call.args[position]), str):
                        codes[str(_literal(call.args[position]))].add(helper_status)
    return codes


def raised_codes() -> dict[str, set[int | None]]:
    """Every code the project can answer with, and the statuses it is answered with."""
    codes: dict[str, set[int | None]] = defaultdict(set)
    for code, status in FRAMEWORK_CODES.items():
        codes[code].add(status)
    for cls in domain_error_classes():
        codes[cls.code].add(cls.status)
    for code, statuses in literal_problem_codes().items():
        codes[code].update(statuses)
    return codes


def readme_codes() -> list[tuple[str, int]]:
    """The rows of the README's ``### Problem codes`` table, in order."""
    text = README.read_text(encoding="utf-8")
    section = re.search(r"^### Problem codes\n(.*?)(?=^#)", text, flags=re.MULTILINE | re.DOTALL)
    assert section is not None, "README.md has no '### Problem codes' section"
    rows = re.findall(r"^\| `([a-z0-9_]+)` \| (\d{3}) \|", section.group(1), flags=re.MULTILINE)
    return [(code, int(status)) for code, status in rows]


def test_it_lists_every_raised_code_in_the_readme_and_nothing_else():
    listed = {code for code, _status in readme_codes()}
    raised = set(raised_codes())
    missing = sorted(raised - listed)
    unraised = sorted(listed - raised)
    assert (missing, unraised) == ([], []), (
        f"codes raised but missing from README.md's Problem codes: {missing}; "
        f"codes README.md lists that nothing raises: {unraised}"
    )


def test_it_lists_each_code_once():
    counts: dict[str, int] = defaultdict(int)
    for code, _status in readme_codes():
        counts[code] += 1
    assert sorted(code for code, count in counts.items() if count > 1) == []


def test_it_documents_the_status_each_code_is_raised_with():
    raised = raised_codes()
    wrong = {
        code: (status, sorted(s for s in raised[code] if s is not None))
        for code, status in readme_codes()
        if code in raised and {s for s in raised[code] if s is not None} - {status}
    }
    assert wrong == {}, f"README status versus raised statuses: {wrong}"


def test_it_never_gives_one_code_two_statuses_in_domain_errors():
    statuses: dict[str, set[int]] = defaultdict(set)
    declared_by: dict[str, list[str]] = defaultdict(list)
    for cls in domain_error_classes():
        statuses[cls.code].add(cls.status)
        declared_by[cls.code].append(f"{cls.__module__}.{cls.__qualname__}")
    clashes = {code: sorted(declared_by[code]) for code, found in statuses.items() if len(found) > 1}
    assert clashes == {}, f"one code, several statuses: {clashes}"
