"""The Python examples in README.md and in public docstrings run, offline.

Examples are written for the real API (`ChatGLM(model="glm-4.6")` with the key in the
environment); here the environment points them at the local GLM server answering with
`auto_reply`, so each example runs end to end exactly as written.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import langchain_glm
from langchain_glm.testing import GLMServer, auto_reply

README = Path(__file__).parents[2] / "README.md"
_BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _blocks(text: str) -> list[str]:
    return [inspect.cleandoc(block) for block in _BLOCK.findall(text)]


def _owners(module: ModuleType) -> Iterator[Any]:
    """The module and every class, function and method defined in it."""
    yield module
    for value in vars(module).values():
        if getattr(value, "__module__", None) != module.__name__:
            continue
        if inspect.isclass(value):
            yield value
            yield from (m for m in vars(value).values() if inspect.isfunction(m))
        elif inspect.isfunction(value):
            yield value


def _docstring_examples() -> list[tuple[str, str]]:
    """Every ```python block in a docstring of any module of the package."""
    root = Path(langchain_glm.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        module = importlib.import_module(".".join(p for p in parts if p != "__init__"))
        for owner in _owners(module):
            name = getattr(owner, "__qualname__", getattr(owner, "__name__", "?"))
            doc = owner.__doc__ if isinstance(owner, ModuleType) else inspect.getdoc(owner)
            found += [(name, block) for block in _blocks(doc or "")]
    return found


@pytest.fixture
def offline_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[GLMServer]:
    with GLMServer() as server:
        server.script(auto_reply)
        monkeypatch.setenv("ZAI_API_KEY", "offline")
        monkeypatch.setenv("ZAI_BASE_URL", server.base_url)
        yield server


README_BLOCKS = _blocks(README.read_text())


@pytest.mark.parametrize(
    "code", README_BLOCKS, ids=[f"readme-{i}" for i in range(len(README_BLOCKS))]
)
def test_readme_example_runs(code: str, offline_env: GLMServer) -> None:
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    test = namespace.get("test_weather_turn")
    if test is not None:  # the "Testing your app offline" example is a pytest test: run it
        with GLMServer() as fresh:
            test(fresh)
    assert offline_env.requests or test is not None


DOC_EXAMPLES = _docstring_examples()


@pytest.mark.parametrize(("owner", "code"), DOC_EXAMPLES, ids=[o for o, _ in DOC_EXAMPLES])
def test_docstring_example_runs(owner: str, code: str, offline_env: GLMServer) -> None:
    exec(compile(code, f"<docstring of {owner}>", "exec"), {"__name__": "doc_example"})  # noqa: S102


def test_there_are_examples() -> None:
    assert len(README_BLOCKS) >= 3
    assert any(owner == "ChatGLM" for owner, _ in DOC_EXAMPLES)
