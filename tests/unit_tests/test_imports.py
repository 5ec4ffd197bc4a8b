"""The public surface is pinned: adding or removing a name is a deliberate change."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import langchain_glm

EXPECTED_ALL = {
    "BatchFailedError",
    "BatchIntegrityError",
    "BatchItemMissingError",
    "BatchJob",
    "BatchTimeoutError",
    "ChatGLM",
    "GLMAPIError",
    "GLMAuthenticationError",
    "GLMBatchCleanupWarning",
    "GLMCompatibilityWarning",
    "GLMConnectionError",
    "GLMContentFilterError",
    "GLMContextOverflowError",
    "GLMEmbeddings",
    "GLMError",
    "GLMInvalidRequestError",
    "GLMLayoutLoader",
    "GLMNotFoundError",
    "GLMPermissionDeniedError",
    "GLMQuotaExceededError",
    "GLMRateLimitError",
    "GLMRerank",
    "GLMSearchRetriever",
    "GLMTimeoutError",
    "GLMWebReader",
    "GLMWebSearch",
    "MessageConversionError",
    "__version__",
    "mcp_tool",
    "retrieval_tool",
    "web_search_results",
    "web_search_tool",
}


def test_all_is_pinned() -> None:
    assert set(langchain_glm.__all__) == EXPECTED_ALL
    assert all(hasattr(langchain_glm, name) for name in langchain_glm.__all__)


def test_version_matches_distribution() -> None:
    # The distribution takes its version from _version.py (hatch dynamic version).
    assert version("langchain-glm") == langchain_glm.__version__


def test_py_typed_is_shipped() -> None:
    assert (Path(langchain_glm.__file__).parent / "py.typed").exists()


_MAPPING_PROBE = """
import copy, json, sys
from langchain_core.load import dumpd, load, mapping

import langchain_core.load.load
loader = sys.modules["langchain_core.load.load"]  # the module (its name is shadowed by load())
tables = {
    "ALL_SERIALIZABLE_MAPPINGS": loader.ALL_SERIALIZABLE_MAPPINGS,
    "SERIALIZABLE_MAPPING": mapping.SERIALIZABLE_MAPPING,
    "OLD_CORE_NAMESPACES_MAPPING": mapping.OLD_CORE_NAMESPACES_MAPPING,
}
before = copy.deepcopy(tables)

from langchain_glm import ChatGLM

llm = ChatGLM(model="glm-4.6", api_key="k")
try:
    load(dumpd(llm), allowed_objects="all", valid_namespaces=["langchain_glm"])
    refused = False
except ValueError:
    refused = True
print(json.dumps({
    "unchanged": [name for name in tables if tables[name] == before[name]],
    "all_refuses_chatglm": refused,
}))
"""


def test_import_leaves_core_serialization_mapping_unchanged() -> None:
    # A fresh interpreter, so no earlier test has imported langchain_glm already.
    # "all" still refusing ChatGLM shows core's allowlist was not extended either.
    out = subprocess.run(  # noqa: S603 - our own probe, run by this interpreter
        [sys.executable, "-c", _MAPPING_PROBE], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == {
        "unchanged": [
            "ALL_SERIALIZABLE_MAPPINGS",
            "SERIALIZABLE_MAPPING",
            "OLD_CORE_NAMESPACES_MAPPING",
        ],
        "all_refuses_chatglm": True,
    }
