"""`langchain_glm/` touches no private attribute of pydantic, httpx, httpcore or langchain-core.

Read from the source's syntax tree: every `obj._name` is either a name this package defines
itself (and not one of those libraries' private names), or one of the few uses in `LISTED`,
each with its enclosing function and its reason. `self._x` must be a member of one of
our classes, `super()._x` only calls the method it overrides. No `__pydantic_*__` (as an
attribute or a string), `__dict__` or `object.__setattr__`; no coroutine stepped by hand
(`.send(None)`, `__anext__`, `__await__`); no import from another package's private module.
"""

from __future__ import annotations

import ast
import functools
import pathlib
from collections.abc import Iterable, Iterator

import httpcore
import httpx
import pydantic
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk, ChatResult

import langchain_glm

PACKAGE = pathlib.Path(langchain_glm.__file__).parent
LISTED = {
    # langchain-core asks partner packages to call it from an after-validator
    # (`BaseLanguageModel.model_post_init`'s docstring); it has no public spelling.
    ("ChatGLM._set_glm_version", "_add_version"): "langchain-core's documented partner hook",
}
"""(enclosing function, what it touches) -> why it is there."""
UPSTREAM_PACKAGES = ("pydantic", "httpx", "httpcore", "langchain_core", "anyio", "h11")


def trees() -> Iterator[tuple[pathlib.Path, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), str(path))


def bound(nodes: Iterable[ast.AST]) -> set[str]:
    """The names these nodes bind: functions, classes, attributes, variables, arguments."""
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[-1])
    return names


def class_members() -> set[str]:
    """Every name bound inside this package's classes (methods, `self._x = ...`, fields)."""
    names: set[str] = set()
    for _, tree in trees():
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            names |= bound(ast.walk(cls))
            fields = (n.target for n in cls.body if isinstance(n, ast.AnnAssign))
            names |= {target.id for target in fields if isinstance(target, ast.Name)}
    return names


@functools.cache
def upstream_private() -> frozenset[str]:
    """Private names of the upstream classes we use, and of live instances of them."""
    with httpx.Client() as client:
        objects: list[object] = [client, client._transport, vars(client._transport)["_pool"]]
    objects += [httpx.AsyncClient(), httpx.Request("GET", "http://x"), httpx.Response(200)]
    objects += [httpx.Headers(), httpx.URL("http://x"), httpcore.ConnectionPool()]
    classes: list[type] = [
        pydantic.BaseModel,
        BaseChatModel,
        AIMessage,
        AIMessageChunk,
        ChatGenerationChunk,
    ]
    classes += [ChatResult, httpx.Client, httpx.AsyncClient, httpx.Auth, httpx.Timeout]
    names = {name for cls in classes for name in dir(cls)}
    names |= {name for obj in objects for name in [*dir(obj), *vars(obj)]}
    return frozenset(name for name in names if name.startswith("_") and not name.endswith("__"))


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


class Scan(ast.NodeVisitor):
    """Finds touches of other libraries' private attributes in one module."""

    def __init__(
        self, where: str, ours: set[str], members: set[str], theirs: frozenset[str]
    ) -> None:
        self.where, self.ours, self.members, self.theirs = where, ours, members, theirs
        self.functions: list[str] = []
        self.classes: list[str] = []
        self.found: list[tuple[str, str, str]] = []

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.functions.append(".".join([*self.classes, node.name]))
        self.generic_visit(node)
        self.functions.pop()

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.classes.append(node.name)
        self.generic_visit(node)
        self.classes.pop()

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.visit_FunctionDef(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        name, base = node.attr, node.value
        internal = name.startswith("__pydantic") or name in ("__dict__", "__anext__", "__await__")
        internal |= ast.unparse(node) == "object.__setattr__"
        if internal or (_is_private(name) and not self._allowed(name, base)):
            self._flag(node, name)
        self.generic_visit(node)

    def _allowed(self, name: str, base: ast.expr) -> bool:
        if isinstance(base, ast.Name) and base.id in ("self", "cls"):
            return name in self.members  # defined by this class or one of our bases
        if isinstance(base, ast.Call) and ast.unparse(base.func) == "super":
            return (
                bool(self.functions) and self.functions[-1].rsplit(".", 1)[-1] == name
            )  # overridden
        if name in self.theirs:
            return name in self.members  # a member of one of our classes
        return name in self.ours

    def visit_Call(self, node: ast.Call) -> None:
        if ast.unparse(node.func).endswith(".send") and [ast.unparse(a) for a in node.args] == [
            "None"
        ]:
            self._flag(node, "hand-driven .send(None)")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and node.value.startswith("__pydantic"):
            self._flag(node, node.value)  # e.g. setattr(obj, "__pydantic_extra__", ...)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        parts = (node.module or "").split(".")
        if parts[0] in UPSTREAM_PACKAGES and any(p.startswith("_") for p in parts):
            self._flag(node, f"from {node.module} import")

    def _flag(self, node: ast.AST, what: str) -> None:
        inside = self.functions[-1] if self.functions else "<module>"
        self.found.append((f"{self.where}:{getattr(node, 'lineno', 0)}", inside, what))


@functools.cache
def private_accesses() -> list[tuple[str, str, str]]:
    """(file:line, enclosing function, what) for each touch of a private attribute."""
    every = [tree for _, tree in trees()]
    ours = bound(node for tree in every for node in ast.walk(tree))
    members, theirs = class_members(), upstream_private()
    found = []
    for path, tree in trees():
        scan = Scan(str(path.relative_to(PACKAGE.parent)), ours, members, theirs)
        scan.visit(tree)
        found += scan.found
    return found


def test_the_scan_sees_a_private_attribute_where_there_is_one() -> None:
    # The scan itself must work: the names it checks against hold the usual suspects.
    theirs = upstream_private()
    assert {"_pool", "_transport", "_add_version", "_convert_input"} <= theirs
    assert "_glm" in class_members()


def test_no_private_attribute_of_another_library_is_touched() -> None:
    found = [hit for hit in private_accesses() if hit[1:] not in LISTED]
    assert found == []


def test_every_listed_exception_is_still_needed() -> None:
    used = {hit[1:] for hit in private_accesses()}
    assert set(LISTED) <= used


def test_the_scan_flags_each_formerly_listed_use() -> None:
    # The uses this allowlist once held must be caught again if they come back.
    source = """
class ChatGLM:
    def _run_starts(self, llm, x, state):
        llm._get_ls_params_with_defaults()
        llm._convert_input(x)
        state["__pydantic_private__"] = None
        self.__dict__["api_key"] = None
"""
    members, theirs = class_members(), upstream_private()
    scan = Scan("example.py", bound(ast.walk(ast.parse(source))), members, theirs)
    scan.visit(ast.parse(source))
    assert [what for _, _, what in scan.found] == [
        "_get_ls_params_with_defaults",
        "_convert_input",
        "__pydantic_private__",
        "__dict__",
    ]
