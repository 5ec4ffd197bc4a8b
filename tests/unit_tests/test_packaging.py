"""Packaging promises: declared imports, absolute README links, no pytest entry point."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]


def _name(requirement: str) -> str:
    """`"httpx>=0.27,<1"` -> `"httpx"` (normalized)."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match is not None, requirement
    return re.sub(r"[-_.]+", "-", match.group()).lower()


def _module_level_imports(part: str | None = None) -> set[str]:
    """Top-level names imported unconditionally at module level in langchain_glm.

    Args:
        part: Only the subpackage of that name (e.g. `cli`); None = all but the cli.
    """
    names: set[str] = set()
    for path in (ROOT / "langchain_glm" / (part or "")).rglob("*.py"):
        if part is None and "cli" in path.relative_to(ROOT / "langchain_glm").parts[:1]:
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"langchain_glm", "__future__"}


def _distributions(modules: set[str]) -> set[str]:
    owners = packages_distributions()
    return {_name(dist) for module in modules for dist in owners.get(module, [module])}


def test_every_module_level_import_is_a_runtime_dependency() -> None:
    declared = {_name(req) for req in PROJECT["dependencies"]}
    # langchain_core comes from langchain-core; pytest only in the opt-in plugin module.
    imported = _distributions(_module_level_imports()) - {"pytest"}
    assert imported <= declared, imported - declared


def test_the_cli_imports_only_what_its_extra_adds() -> None:
    declared = {
        _name(req) for req in (*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["cli"])
    }
    assert _distributions(_module_level_imports("cli")) <= declared


def test_every_runtime_dependency_is_imported() -> None:
    declared = {_name(req) for req in PROJECT["dependencies"]}
    assert declared <= _distributions(_module_level_imports()), declared


def test_no_pytest11_entry_point() -> None:
    assert "pytest11" not in PROJECT.get("entry-points", {})


def test_project_urls_and_classifiers() -> None:
    urls = PROJECT["urls"]
    assert {"Homepage", "Repository", "Issues"} <= set(urls)
    assert all(url.startswith("https://") for url in urls.values())
    classifiers = set(PROJECT["classifiers"])
    assert "Typing :: Typed" in classifiers
    assert "License :: OSI Approved :: MIT License" not in classifiers  # PEP 639: `license`
    assert {c for c in classifiers if c.startswith("Development Status")}
    assert {f"Programming Language :: Python :: 3.{minor}" for minor in (11, 12, 13)} <= classifiers


def test_readme_links_are_absolute_and_name_real_files() -> None:
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", readme)
    assert targets
    relative = [t for t in targets if not t.startswith(("https://", "http://", "#"))]
    assert relative == []  # PyPI renders the long description away from the repository
    blob = PROJECT["urls"]["Repository"] + "/blob/main/"
    ours = [t.removeprefix(blob) for t in targets if t.startswith(blob)]
    assert ours
    assert [t for t in ours if not (ROOT / t).exists()] == []


def test_sdist_holds_what_the_readme_starts_with() -> None:
    include = PYPROJECT["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]
    assert {"Makefile", ".ci/run", "README.md", "LICENSE"} <= set(include)
