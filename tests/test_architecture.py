"""The layout is a checked contract (STYLE.md "The layout"): the import-linter contracts in
pyproject.toml hold, no module imports another in a circle (function-level imports included),
no module of the service grows past about 500 lines, and no `<name>_<capability>.py` sibling
families stand in for folders."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "accounts", "supervision", "tasks")
MAX_LINES = 520  # "about 500"
# Data, not logic: the demo county reads best as one file (README, "Demo logins").
LONG_ON_PURPOSE = {"supervision/demo.py"}


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(lint), "--no-cache"], cwd=cwd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(cwd)}
    )


def test_the_layering_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and "0 broken" in result.stdout


def test_the_ledger_importing_the_worker_app_breaks_the_contract(tmp_path):
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "static", "templates"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    errors = tmp_path / "supervision" / "errors.py"
    errors.write_text(errors.read_text(encoding="utf-8") + "\nfrom tasks import models  # noqa\n", encoding="utf-8")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "supervision.errors -> tasks.models" in result.stdout
    assert "The ledger never imports the worker app" in result.stdout


def _modules() -> list[Path]:
    return [
        path
        for name in PACKAGES
        for path in (ROOT / name).rglob("*.py")
        if "migrations" not in path.parts and "__pycache__" not in path.parts
    ]


def test_no_import_cycles_between_modules():
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False, exclude_type_checking_imports=True)
    modules = sorted(m for m in graph.modules if ".migrations" not in m)
    # Tarjan's strongly connected components, iteratively; any component of two or more is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    counter = 0
    for root in modules:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if ".migrations" in child:
                    continue
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
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    assert cycles == []


def test_no_module_of_the_service_is_a_monolith():
    long = {
        str(path.relative_to(ROOT)): n
        for path in _modules()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert {k: v for k, v in long.items() if k not in LONG_ON_PURPOSE} == {}


def test_no_sibling_families_stand_in_for_folders():
    """`models_calendar.py` beside `models.py` (or beside `models_exports.py`) is a folder in
    disguise: a capability is a file inside a package instead."""
    families: dict[tuple[Path, str], list[str]] = defaultdict(list)
    for path in _modules():
        stem = path.stem
        if stem.startswith("_") or "_" not in stem or "commands" in path.parts:
            continue  # management commands are named after the command people type
        families[(path.parent, stem.split("_", 1)[0])].append(path.name)
    found = []
    for (folder, prefix), names in families.items():
        if (folder / f"{prefix}.py").exists() or (folder / prefix).is_dir() or len(names) > 1:
            found.append(str((folder / prefix).relative_to(ROOT)) + ": " + ", ".join(sorted(names)))
    assert found == []
