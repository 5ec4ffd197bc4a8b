"""The Batch API e2e tests of tests/e2e/test_batch.py, over loopback HTTP against the GLM test
server (the same tests run in-process through `GLMTransport` there)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from langchain_glm import ChatGLM
from langchain_glm.testing import GLMServer
from tests.e2e.test_batch import (  # noqa: F401  (collected here, against the server)
    test_async_twins,
    test_batch_message_is_the_invoke_message,
    test_bound_tools_reach_the_lines_through_the_drop_in_batch,
    test_cancel_reports_missing_lines,
    test_drop_in_abatch,
    test_drop_in_batch_honours_return_exceptions,
    test_drop_in_batch_matches_plain_batch,
    test_each_line_body_is_byte_for_byte_the_invoke_body,
    test_expired_batch_reports_counts,
    test_job_repr_and_constructor_are_public,
    test_keep_files,
    test_mixed_successes_and_failures_keep_their_positions,
    test_over_the_limit_splits_into_batches_under_one_job,
    test_polling_survives_transient_errors,
    test_results_before_the_end_and_bad_input_fail_before_sending,
    test_resume_from_the_id_in_a_fresh_chatglm,
    test_split_by_bytes,
    test_thousand_prompts_come_back_in_input_order,
    test_validation_failure_is_a_clear_error,
)
from tests.unit_tests.test_batch import glm_clients


class ServerBackend:
    """The interface the shared tests use, over a running `GLMServer`."""

    def __init__(self, server: GLMServer) -> None:
        self.server = server
        self.reply = server.reply
        self.reply_error = server.reply_error
        self.reply_raw = server.reply_raw
        self.script = server.script
        self.fail = server.fail
        self.clients = glm_clients()

    @property
    def state(self) -> dict[str, Any]:
        return self.server.batch_state

    @property
    def requests(self) -> list[Any]:
        return self.server.requests

    def llm(self, **fields: Any) -> ChatGLM:
        url = self.server.base_url
        return ChatGLM(model="glm-4.6", base_url=url, api_key="test", **self.clients, **fields)

    def http(self) -> httpx.Client:
        headers = {"Authorization": "Bearer test"}
        return httpx.Client(base_url=self.server.base_url, headers=headers)


@pytest.fixture
async def backend(glm_server: GLMServer) -> AsyncIterator[ServerBackend]:
    """The server backend; its clients are closed in the test's event loop."""
    backend = ServerBackend(glm_server)
    yield backend
    backend.clients["http_client"].close()
    await backend.clients["http_async_client"].aclose()
