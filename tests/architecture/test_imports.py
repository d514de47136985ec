"""The import rules that import-linter's contracts do not state (ARCHITECTURE.md, "Dependency rules").

- No cycle between the modules of ``inspections``, ``villages`` and ``config``: an import
  inside a function to dodge a cycle is still a cycle, and grimp counts it.
- No ``_private`` name used across modules, by code or by tests: ``from x import _y``,
  ``x._y`` on an imported project module, and ``monkeypatch.setattr("x._y", …)`` /
  ``mock.patch("x._y")`` strings. Dunder names are not private.
- No domain module imports ``rest_framework`` or ``inspections.api`` (the issue's grep, on
  the syntax tree so that a comment or a docstring does not count).

Static reading only: no database, nothing imported but grimp's graph.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
ROOT_PACKAGES = ("inspections", "villages", "config")
# Tests obey the private-name rule too.
SCANNED_PACKAGES = (*ROOT_PACKAGES, "tests")

# A concern's presentation modules (ARCHITECTURE.md rule 11); everything else is domain.
PRESENTATION_FILES = {"admin.py", "tasks.py", "urls.py", "unsubscribe.py"}
PRESENTATION_PREFIXES = ("api", "public_")
NOT_SCANNED_FOLDERS = {"migrations", "management", "templates", "locale"}


# --- Modules and files ---------------------------------------------------------------------


@dataclass(frozen=True)
class SourceModule:
    name: str
    path: Path
    is_package: bool

    @property
    def relative(self) -> str:
        return str(self.path.relative_to(ROOT)) if self.path.is_relative_to(ROOT) else str(self.path)


def source_modules(packages: tuple[str, ...] = SCANNED_PACKAGES) -> list[SourceModule]:
    modules: list[SourceModule] = []
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            modules.append(SourceModule(".".join(parts), path, is_package))
    return modules


PROJECT_MODULES = {module.name for module in source_modules()}


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def absolute_from(module: SourceModule, node: ast.ImportFrom) -> str:
    """The absolute module a ``from … import`` reads from (relative imports resolved)."""
    if node.level == 0:
        return node.module or ""
    package = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


@functools.cache
def parse(module: SourceModule) -> ast.Module:
    return ast.parse(module.path.read_text(encoding="utf-8"), filename=str(module.path))


# --- Cycles ----------------------------------------------------------------------------------


def import_graph() -> grimp.ImportGraph:
    return grimp.build_graph(*ROOT_PACKAGES, cache_dir=None)


def strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the groups of modules that reach each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0
    for start in sorted(graph.modules):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [
            (start, iter(sorted(graph.find_modules_directly_imported_by(start))))
        ]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1 or node in graph.find_modules_directly_imported_by(node):
                    groups.append(sorted(group))
    return sorted(groups)


def shortest_cycle(graph: grimp.ImportGraph, group: list[str]) -> list[str]:
    """One shortest cycle through the group's first module, as the list of modules on it."""
    start = group[0]
    members = set(group)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for module in frontier:
            for imported in sorted(graph.find_modules_directly_imported_by(module) & members):
                if imported == start:
                    path = [module]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start] if module != start else [start, start]
                if imported not in previous:
                    previous[imported] = module
                    following.append(imported)
        frontier = following
    return group


def test_it_has_no_import_cycle():
    graph = import_graph()
    cycles = []
    for group in strongly_connected(graph):
        cycle = shortest_cycle(graph, group)
        others = sorted(set(group) - set(cycle))
        cycles.append(" -> ".join(cycle) + (f"  (same group: {', '.join(others)})" if others else ""))
    assert cycles == [], "import cycles (each a shortest cycle of one group of modules):\n" + "\n".join(
        cycles
    )


def test_it_reports_a_cycle_as_its_modules():
    graph = grimp.ImportGraph()
    for module in ("a", "a.one", "a.two", "a.three"):
        graph.add_module(module)
    graph.add_import(importer="a.one", imported="a.two")
    graph.add_import(importer="a.two", imported="a.three")
    graph.add_import(importer="a.three", imported="a.one")
    groups = strongly_connected(graph)
    assert groups == [["a.one", "a.three", "a.two"]]
    assert shortest_cycle(graph, groups[0]) == ["a.one", "a.two", "a.three", "a.one"]


# --- Private names ---------------------------------------------------------------------------


def _module_bindings(module: SourceModule, tree: ast.Module) -> dict[str, str]:
    """Local names bound to project modules by the imports anywhere in the file."""
    bindings: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] not in SCANNED_PACKAGES:
                    continue
                if alias.asname:
                    bindings[alias.asname] = alias.name
                else:
                    bindings[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            source = absolute_from(module, node)
            for alias in node.names:
                if f"{source}.{alias.name}" in PROJECT_MODULES:
                    bindings[alias.asname or alias.name] = f"{source}.{alias.name}"
    return bindings


def _private_module_import(importer: str, dotted: str) -> str | None:
    """The private module component of ``dotted`` that ``importer`` may not reach, if any."""
    parts = dotted.split(".")
    for position, part in enumerate(parts):
        if is_private(part):
            parent = ".".join(parts[:position])
            if not (importer == parent or importer.startswith(parent + ".")):
                return ".".join(parts[: position + 1])
    return None


def _dotted_target(dotted: str) -> tuple[str, str] | None:
    """Split ``a.b.c._name`` into the longest project module and the first name after it."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        if ".".join(parts[:cut]) in PROJECT_MODULES:
            return ".".join(parts[:cut]), parts[cut]
    return None


def _attribute_chain(node: ast.Attribute) -> list[str] | None:
    names: list[str] = []
    current: ast.AST = node
    while isinstance(current, ast.Attribute):
        names.append(current.attr)
        current = current.value
    if not isinstance(current, ast.Name):
        return None
    names.append(current.id)
    return list(reversed(names))


PATCHERS = {"setattr", "delattr", "patch", "object"}


def private_uses(module: SourceModule) -> list[str]:
    tree = parse(module)
    bindings = _module_bindings(module, tree)
    found: list[str] = []

    def report(node: ast.AST, what: str) -> None:
        found.append(f"{module.relative}:{getattr(node, 'lineno', 0)} {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = absolute_from(module, node)
            if source.split(".")[0] not in SCANNED_PACKAGES:
                continue
            hidden = _private_module_import(module.name, source)
            if hidden:
                report(node, f"from {source} import … (private module {hidden})")
                continue
            for alias in node.names:
                if not is_private(alias.name):
                    continue
                imported = f"{source}.{alias.name}"
                if imported in PROJECT_MODULES and _private_module_import(module.name, imported) is None:
                    continue  # a private module of the importer's own package
                report(node, f"from {source} import {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in SCANNED_PACKAGES:
                    hidden = _private_module_import(module.name, alias.name)
                    if hidden:
                        report(node, f"import {alias.name}")
        elif isinstance(node, ast.Attribute) and not isinstance(getattr(node, "ctx", None), ast.Del):
            chain = _attribute_chain(node)
            if not chain or chain[0] not in bindings or not is_private(chain[-1]):
                continue
            dotted = ".".join([bindings[chain[0]], *chain[1:]])
            target = _dotted_target(dotted)
            if target and target[1] == chain[-1] and target[0] != module.name:
                report(node, f"{'.'.join(chain)} ({target[0]}.{target[1]})")
        elif isinstance(node, ast.Call):
            called = (
                node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            )
            if called not in PATCHERS or not node.args:
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                target = _dotted_target(first.value)
                if target and is_private(target[1]):
                    report(node, f'{called}("{first.value}")')
            elif isinstance(first, ast.Name) and first.id in bindings and len(node.args) > 1:
                second = node.args[1]
                if (
                    isinstance(second, ast.Constant)
                    and isinstance(second.value, str)
                    and is_private(second.value)
                ):
                    report(node, f'{called}({first.id}, "{second.value}") ({bindings[first.id]})')
    return found


def test_it_uses_no_private_name_of_another_module():
    offenders = [use for module in source_modules() for use in private_uses(module)]
    assert offenders == [], "private names used across modules:\n" + "\n".join(offenders)


def test_it_recognises_each_form_of_private_use(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from inspections.api import problems\n"
        "from inspections.api.problems import _TITLES, __all__\n"
        "import inspections.api.problems as p\n"
        "def test(monkeypatch):\n"
        "    problems._flatten_field_errors([])\n"
        "    p._TITLES\n"
        "    problems.__name__\n"
        '    monkeypatch.setattr("inspections.api.problems._TITLES", {})\n'
        '    monkeypatch.setattr(problems, "_TITLES", {})\n'
        '    monkeypatch.setattr("inspections.api.problems.PROBLEM_CONTENT_TYPE", "x")\n',
        encoding="utf-8",
    )
    uses = private_uses(SourceModule("tests.sample", sample, is_package=False))
    assert sorted(use.split(" ", 1)[1] for use in uses) == sorted(
        [
            "from inspections.api.problems import _TITLES",
            "problems._flatten_field_errors (inspections.api.problems._flatten_field_errors)",
            "p._TITLES (inspections.api.problems._TITLES)",
            'setattr("inspections.api.problems._TITLES")',
            'setattr(problems, "_TITLES") (inspections.api.problems)',
        ]
    )


# --- Domain code and the API -----------------------------------------------------------------


def is_domain(module: SourceModule) -> bool:
    parts = module.path.relative_to(ROOT).parts
    if parts[0] not in ("inspections", "villages") or NOT_SCANNED_FOLDERS & set(parts):
        return False
    if parts[:2] == ("inspections", "api") or (parts[0] == "villages" and parts[1] == "api"):
        return False
    name = parts[-1]
    return name not in PRESENTATION_FILES and not name.startswith(PRESENTATION_PREFIXES)


def imported_modules(module: SourceModule) -> Iterator[tuple[int, str]]:
    for node in ast.walk(parse(module)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            source = absolute_from(module, node)
            for alias in node.names:
                yield node.lineno, f"{source}.{alias.name}" if source else alias.name


def test_it_keeps_rest_framework_and_the_api_out_of_domain_code():
    forbidden = ("rest_framework", "inspections.api")
    offenders = [
        f"{module.relative}:{line} imports {name}"
        for module in source_modules(ROOT_PACKAGES)
        if is_domain(module)
        for line, name in imported_modules(module)
        if any(name == prefix or name.startswith(prefix + ".") for prefix in forbidden)
    ]
    assert offenders == [], "domain modules importing the API layer:\n" + "\n".join(offenders)


def test_it_counts_services_as_domain_and_views_as_presentation():
    def module(relative: str) -> SourceModule:
        return SourceModule(relative, ROOT / relative, is_package=False)

    assert is_domain(module("inspections/cases/services/status.py"))
    assert is_domain(module("inspections/evidence/tus.py"))
    assert is_domain(module("villages/selectors.py"))
    assert not is_domain(module("inspections/evidence/api_tus.py"))
    assert not is_domain(module("inspections/publication/public_views.py"))
    assert not is_domain(module("inspections/digests/unsubscribe.py"))
    assert not is_domain(module("inspections/management/commands/send_digests.py"))
