"""`ChatGLM`: Zhipu / Z.ai GLM chat models (GLM-4.5 to GLM-5.4) for LangChain."""

from __future__ import annotations

import functools
import logging
import threading
import warnings
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Self, cast

import httpx
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun

# From the defining modules, not through `langchain_core.language_models`' lazy attributes:
# the same modules load either way, but that route made `from langchain_glm import ChatGLM`
# 1.12x as costly as importing core's chat_models alone instead of 1.05x (CPU time, medians
# of 16 alternating pairs in fresh interpreters; `make bench`, phase f).
from langchain_core.language_models.base import LangSmithParams, LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.load import dumpd
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.messages.utils import convert_to_messages, count_tokens_approximately
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import get_config_list
from langchain_core.utils import get_pydantic_field_names
from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

import langchain_glm._compat  # noqa: F401  (registers the "zhipuai" block translator)
from langchain_glm import _request, _response
from langchain_glm._client import TOKENIZER, GLMClient, client_for
from langchain_glm._errors import GLMNotFoundError
from langchain_glm._models import spec_for
from langchain_glm._platform import (
    API_KEY,
    BASE_URL,
    DEFAULT_BASE_URL,
    HTTP_CLIENT,
    KEY_ENVS,
    MAX_RETRIES,
    TIMEOUT,
    APIKey,
    BaseURL,
    Timeout,
    key_env,
    pickled,
)
from langchain_glm._streaming import StreamParser
from langchain_glm._version import __version__
from langchain_glm.data._profiles import profile_data
from langchain_glm.tools import with_search_engine

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from langchain_glm.batch import BatchJob, BatchRequests

_BODY_FIELDS = _request.PARAM_KEYS
_PER_CALL_CLIENT = ("timeout", "max_retries", "default_headers")
_MODEL_ONLY = ("api_key", "base_url", "jwt_auth", "http_client", "http_async_client")
"""Settings of the model, never of a call: a per-call value is a ValueError (it would
otherwise land in the callbacks' `invocation_params`, which tracing records)."""
_BATCH_OPTIONS = frozenset({"max_requests_per_batch", "max_bytes_per_batch", "metadata"})
"""`batch_submit` keywords that shape the job, not the request bodies."""
_STREAM_ONLY = frozenset({"stream", "stream_options", "stream_usage", "tool_stream"})
"""Options a Batch API line drops: GLM runs batch requests without streaming."""
_LOG = logging.getLogger("langchain_glm")
_NOT_BODY = {"stream", "streaming", "run_manager", "stream_usage"}
_TOKEN_CACHE_SIZE = 256


@dataclass(frozen=True)
class _Call:
    """One prepared request: its body and the client that sends it."""

    payload: dict[str, Any]
    client: GLMClient

    @property
    def model(self) -> str:
        """The requested model id."""
        return str(self.payload["model"])


class ChatGLM(BaseChatModel):
    """Zhipu / Z.ai GLM chat models (GLM-4.5 to 4.7, GLM-5 to 5.4, GLM-5.3-Flash, GLM-4.6V).

    Talks to GLM's chat-completions API directly with `httpx` and keeps what
    generic OpenAI clients drop: the model's reasoning
    (`additional_kwargs["reasoning_content"]` and a `reasoning` content block),
    `thinking` and `reasoning_effort` control (checked per model against the
    capability table), streamed tool arguments (`tool_stream`), cached and
    reasoning token counts, GLM web-search results, GLM's Batch API
    (`batch_submit`, `use_batch_api`), and errors mapped from GLM's business codes
    to `langchain_core.exceptions` classes.

    Setup:
        Install this package from its repository (`pip install .`; the PyPI name
        `langchain-glm` belongs to an unrelated project) and set `ZAI_API_KEY`
        (or `ZHIPUAI_API_KEY`).

    Example:
        A complete round trip against the bundled offline GLM server:

        ```python
        from langchain_glm import ChatGLM
        from langchain_glm.testing import GLMServer

        with GLMServer() as server:
            server.reply(text="Rayleigh scattering.", reasoning="Short answer.")
            llm = ChatGLM(model="glm-4.6", base_url=server.base_url, api_key="test")
            msg = llm.invoke("Why is the sky blue?")
            assert msg.content == "Rayleigh scattering."
            assert msg.additional_kwargs["reasoning_content"] == "Short answer."
            assert msg.usage_metadata["total_tokens"] > 0
        ```

    Stream:
        Reasoning and text arrive as they are generated; the chunks add up to one
        message with one reasoning block, one text block, and usage on one chunk.

        ```python
        from langchain_glm import ChatGLM

        llm = ChatGLM(model="glm-4.6")
        full = None
        for chunk in llm.stream("Write a haiku about autumn."):
            print(chunk.additional_kwargs.get("reasoning_content", "") + chunk.text, end="")
            full = chunk if full is None else full + chunk
        print(full.usage_metadata)
        ```

    Tools and structured output:
        GLM accepts only `tool_choice="auto"`; a forcing choice is honoured by
        instruction (see `bind_tools`).

        ```python
        from langchain_glm import ChatGLM

        weather = {
            "title": "weather",
            "description": "Get the weather in a city.",
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        }
        llm = ChatGLM(model="glm-4.6")
        print(llm.bind_tools([weather]).invoke("Weather in 'Rome'?").tool_calls)
        print(llm.with_structured_output(weather).invoke("Weather in 'Rome'?"))
        ```

    Serialization:
        `dumpd(llm)` stores the key as a reference to the variable that holds it
        (`ZAI_API_KEY`, or `ZHIPUAI_API_KEY`), never its value; `pickle` does the same
        for a key read from either variable.
        Load with the public allowlist: `load(data, allowed_objects=[ChatGLM],
        valid_namespaces=["langchain_glm"], secrets_from_env=True)`;
        `allowed_objects="all"` admits only the classes listed in langchain-core itself.

    Every field can also be overridden per call, e.g.
    `llm.invoke(messages, thinking=False, max_tokens=50)`. The walkthrough
    (async, thinking control, `tool_stream`, web search, errors) is in
    `notebooks/quickstart.ipynb`.
    """

    # hide_input_in_errors: a validation error must never echo the input, which holds the key.
    # defer_build: the validation schema is built at the first construction, not at import
    # (about 8 ms of `from langchain_glm import ChatGLM`).
    model_config = ConfigDict(
        populate_by_name=True,
        arbitrary_types_allowed=True,
        hide_input_in_errors=True,
        defer_build=True,
    )

    model_name: str = Field(default="glm-4.6", alias="model")
    """GLM model id, e.g. `"glm-4.6"`, `"glm-5.3"`, `"glm-5.3-flash"` (alias `model`).
    What each model takes comes from the capability table (README "Models"); a model the
    table does not know (a self-hosted fine-tune) is sent as given, with no client-side
    limits."""

    api_key: APIKey = API_KEY
    """API key, from `ZAI_API_KEY`, else `ZHIPUAI_API_KEY`. Not needed to construct
    the model; a call without one raises `GLMAuthenticationError` before sending. A key
    holding a control character (e.g. a pasted CR/LF), a space or non-ASCII text is a
    `ValueError` at construction. It never appears in a repr, log, error or `dumpd`."""

    base_url: BaseURL = BASE_URL
    """API base; requests go to `{base_url}/chat/completions`. From `ZAI_BASE_URL`, else
    `ZHIPUAI_BASE_URL`, else `https://open.bigmodel.cn/api/paas/v4`. Others:
    `https://api.z.ai/api/paas/v4` (international), the GLM Coding Plan bases
    `https://api.z.ai/api/coding/paas/v4` and `https://open.bigmodel.cn/api/coding/paas/v4`,
    and self-hosted vLLM / SGLang servers (`http://host:8000/v1`). Must be an absolute
    http(s) URL (else `ValueError` at construction)."""

    thinking: bool | dict[str, Any] | None = None
    """Enable (`True`) or disable (`False`) GLM's thinking, or GLM's own object
    `{"type": "enabled" | "disabled", "clear_thinking": bool}`; `None` leaves the server
    default. Sent as `thinking: {"type": ...}`. GLM-5.3 and 5.3-Flash always think
    (`disabled` is a 400/1210 there): `False` is sent as thinking enabled with
    `reasoning_effort="low"`, their cheapest level, and a `GLMCompatibilityWarning`.
    Anything else (`"disabled"`, `0`) is a `ValueError`, here and per call."""

    clear_thinking: bool | None = None
    """`False` asks GLM to keep earlier turns' reasoning (preserved thinking); every
    earlier assistant turn's reasoning is then resent unmodified. `None` = server default
    (`True`). Sent inside `thinking` on every model that thinks."""

    reasoning_effort: _request.ReasoningEffort | None = None
    """How hard the model thinks: `none`, `minimal`, `low`, `medium`, `high`, `xhigh` or
    `max`, sent only where the model takes it. GLM-5.3 and 5.3-Flash(X) take `low`,
    `high`, `max`; GLM-5.2 takes all seven (it maps them); a value the model rejects is
    a `ValueError` before sending. Older models ignore the field, so it is not sent there
    (with a `GLMCompatibilityWarning`). Cost: unset means the server default, `max`, on
    GLM-5.2 and later: the most expensive level."""

    temperature: float | None = None
    """Sampling temperature, `[0, 1]` on every GLM model; `None` = model default (1.0)."""

    top_p: float | None = None
    """Nucleus sampling, `[0.01, 1]` on every GLM model (0 is refused before sending);
    `None` = model default (0.95)."""

    max_tokens: int | None = None
    """Maximum output tokens, at most the model's maximum output (131072 on every
    current text model, 32768 on GLM-4.6V), checked before sending; `None` = model
    default. Set it on GLM-5.2+: the default `max` effort can use up the output budget."""

    stop: list[str] | str | None = Field(default=None, alias="stop_sequences")
    """Stop sequences: one on GLM-4.6 and older, up to four on GLM-4.7 and GLM-5.x;
    more is a clear error before sending."""

    do_sample: bool | None = None
    """`False` = greedy decoding (temperature and top_p are then ignored by GLM)."""

    streaming: bool = False
    """Stream by default, also for `invoke` (the result is aggregated)."""

    tool_stream: bool = False
    """Stream tool-call arguments as they are generated; sent only on streaming calls
    that carry tools, to models that stream tool calls (glm-4.6, glm-4.7, glm-5 to
    glm-5.3, glm-5-turbo, glm-5.4; not the other vision models)."""

    timeout: Timeout = TIMEOUT
    """Time budget of each attempt, in seconds (default 600, for long thinking answers).
    Connecting may take `min(timeout, 10)` s. Then `invoke` must receive the whole reply
    within `timeout`, and `stream` the status line and each next event within `timeout`
    (`: ping` comments and keep-alive bytes do not count). An `httpx.Timeout` sets connect,
    write and pool as given, and its `read` is that budget. `None` waits forever. Running
    out raises `GLMTimeoutError`, which is never re-sent (GLM may still be generating)."""

    max_retries: int = MAX_RETRIES
    """Retries of failures that happened before GLM could answer: connect errors, pool
    timeouts, 429 rate limits, 5xx, and GLM's own failed inference
    (`finish_reason: "network_error"`, a reply without a choice, an error frame or empty
    stream before any chunk). Quota errors (1113), read timeouts and connections dropped
    after the request was sent are never re-sent; a stream is never re-sent once its first
    chunk has been handed out. Waits honour `Retry-After` (plus up to 25% jitter); when the
    server asks for more than 60 s the error is raised at once with `retry_after` set."""

    default_headers: dict[str, str] | None = None
    """Extra HTTP headers sent with every request."""

    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Extra request-body fields passed through as given (e.g. `request_id`, `user_id`,
    or `chat_template_kwargs` for self-hosted vLLM). Also per call: `model_kwargs={...}`."""

    jwt_auth: bool = False
    """Sign each attempt with a fresh short-lived JWT made from an `id.secret` key instead
    of sending the key itself (legacy BigModel scheme)."""

    http_client: httpx.Client | None = HTTP_CLIENT
    """An `httpx.Client` to use as given (proxies, custom transports); the auth and the
    per-request `timeout` still apply. By default one pool is shared per process."""

    http_async_client: httpx.AsyncClient | None = HTTP_CLIENT
    """An `httpx.AsyncClient` to use as given, for the async methods. By default one pool
    is shared per event loop, and closed with it."""

    _glm: tuple[tuple[Any, ...], GLMClient] | None = PrivateAttr(default=None)

    use_batch_api: bool = False
    """Run `batch` / `abatch` through GLM's Batch API: half the price, no concurrency
    limit, results within 24 h (https://docs.bigmodel.cn/cn/guide/tools/batch). Same
    results as without it; see `batch_submit` for the job-level API."""

    batch_poll_interval: float | None = None
    """Seconds between status polls of `batch` / `abatch` with `use_batch_api`; `None`
    polls after 0.5 s and backs off 1.5x to one poll a minute."""

    batch_timeout: float | None = None
    """Seconds `batch` / `abatch` with `use_batch_api` wait for the job; `None` waits as
    long as GLM takes. On timeout `BatchTimeoutError.job_id` resumes it."""

    _warned: set[str] = PrivateAttr(default_factory=set)
    _token_counts: OrderedDict[str, int] = PrivateAttr(default_factory=OrderedDict)
    _token_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    # ------------------------------------------------------------------ validators

    @field_validator("thinking", mode="before")
    @classmethod
    def _check_thinking(cls, value: Any) -> Any:
        """Accept only `bool`, `None` and GLM's thinking object (not `"disabled"` or 0)."""
        _request.parse_thinking(value)
        return value

    @field_validator("model_name")
    @classmethod
    def _check_model(cls, value: str) -> str:
        """An empty model id is an error at construction, not a 400 from GLM."""
        if not value.strip():
            msg = "model is empty: pass a GLM model id, e.g. ChatGLM(model='glm-4.6')."
            raise ValueError(msg)
        return value

    @model_validator(mode="before")
    @classmethod
    def _collect_body_kwargs(cls, values: Any) -> Any:
        """Send unknown constructor keywords as request-body fields, never drop them.

        `ChatGLM(request_id="r1")` is taken as `model_kwargs={"request_id": "r1"}`, with a
        warning; a ChatGLM field inside `model_kwargs` is an error (pass it directly).
        ChatOpenAI's keywords (`extra_body`, `n`, `stream_usage`, ...) are kept the same way
        without a warning and checked here: README "Migration" says what each does.
        """
        if not isinstance(values, dict):
            return values
        known = get_pydantic_field_names(cls)
        body = dict(values.get("model_kwargs") or {})
        misplaced = sorted(set(body) & known)
        if misplaced:
            msg = f"Pass {misplaced} as ChatGLM arguments, not inside model_kwargs."
            raise ValueError(msg)
        extra = {key: value for key, value in values.items() if key not in known}
        if not extra:
            return values
        _request.adopt_openai_kwargs({"extra": extra})
        unknown = sorted(set(extra).difference(_request.OPENAI_KWARGS))
        if unknown:
            warnings.warn(
                f"{unknown} are not ChatGLM fields; they are sent as request-body fields "
                "(model_kwargs).",
                UserWarning,
                stacklevel=4,
            )
        kept = {key: value for key, value in values.items() if key in known}
        return {**kept, "model_kwargs": {**body, **extra}}

    @model_validator(mode="after")
    def _set_glm_version(self) -> Self:
        """Record langchain-glm's version in `metadata["lc_versions"]`, for every trace.

        langchain-core seeds that dict with its own version and asks partner packages
        to add theirs with `_add_version` from a uniquely named after-validator
        (`BaseLanguageModel.model_post_init`).
        """
        self._add_version("langchain-glm", __version__)
        return self

    # ------------------------------------------------------------------ identity

    @property
    def _llm_type(self) -> str:
        """Type of chat model, for tracing."""
        return "glm-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        """Parameters that identify this configuration in caches and traces."""
        params = {name: getattr(self, name) for name in _BODY_FIELDS}
        return {"model_name": self.model_name, **params, **self.model_kwargs}

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Constructor fields that hold secrets, and the env var each comes from.

        `dumpd` stores the key as a reference to the variable that holds it: `ZAI_API_KEY`,
        or `ZHIPUAI_API_KEY` when only that one holds this key, so `load(...,
        secrets_from_env=True)` finds it again. A key passed in code refers to `ZAI_API_KEY`.
        """
        return {"api_key": key_env(self.api_key) or KEY_ENVS[0]}

    # ------------------------------------------------------------------ pickle

    def __reduce__(self) -> tuple[Callable[..., ChatGLM], tuple[Any, ...]]:
        """Pickle the settings, never the connection state (rebuilt on first use after load).

        The pool handle and the token-count lock are left out; a key read from `ZAI_API_KEY`
        or `ZHIPUAI_API_KEY` is stored as that variable's name and read again on load, so the
        pickle holds no key. A key passed in code travels in the pickle, as any attribute
        would. Your own `http_client` / `http_async_client` cannot be pickled. Loading
        rebuilds the model with pydantic's public `model_construct` from the validated
        values, so pydantic's own pickle state is neither edited nor relied on.

        Raises:
            TypeError: The model holds its own httpx client.
        """
        return pickled(self, _warned=self._warned, _token_counts=self._token_counts)

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """ChatGLM can be serialized with `langchain_core.load.dumpd`."""
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """Namespace used by `dumpd` / `load`: `["langchain_glm", "chat_models"]`."""
        return ["langchain_glm", "chat_models"]

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        """LangSmith tracing parameters."""
        params = LangSmithParams(
            ls_provider=_response.PROVIDER,
            ls_model_name=kwargs.get("model", self.model_name),
            ls_model_type="chat",
        )
        temperature = kwargs.get("temperature", self.temperature)
        if temperature is not None:
            params["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if max_tokens is not None:
            params["ls_max_tokens"] = max_tokens
        stop_words = _request.normalize_stop(stop if stop is not None else self.stop)
        if stop_words:
            params["ls_stop"] = stop_words
        return params

    def _get_invocation_params(
        self, stop: list[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Parameters recorded by callbacks; refuses per-call model settings first.

        LangChain calls this before any callback starts, so a per-call `api_key` is an
        error before it could reach `invocation_params` (and tracing).
        """
        _reject_model_settings(kwargs)
        return super()._get_invocation_params(stop=stop, **kwargs)

    def _resolve_model_profile(self) -> ModelProfile | None:
        """Capabilities of the configured model, from the capability table (`_models.py`)."""
        spec = spec_for(self.model_name)
        return ModelProfile(**profile_data(spec)) if spec is not None else None  # type: ignore[typeddict-item]

    # ------------------------------------------------------------------ requests

    def _prepare(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        kwargs: Mapping[str, Any],
        *,
        stream: bool,
    ) -> _Call:
        """Resolve fields and per-call overrides into a checked request body and a client."""
        params, overrides = self._call_params(kwargs)
        if stop is not None:
            params["stop"] = stop
        params["stream"] = stream
        built = _request.build_request(messages, params)
        self._warn_once(built.adaptations)
        return _Call(payload=built.body, client=self._client(overrides))

    def _call_params(self, kwargs: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Split per-call keywords into body parameters and client overrides, type-checked.

        Raises:
            ValueError: A model-only setting (`api_key`, `base_url`, `jwt_auth`, ...) or a
                per-call value of the wrong type (`temperature="hot"`), before sending.
        """
        _reject_model_settings(kwargs)
        params: dict[str, Any] = {name: getattr(self, name) for name in _BODY_FIELDS}
        params["model"] = self.model_name
        extra = dict(self.model_kwargs)
        overrides: dict[str, Any] = {}
        for key, value in kwargs.items():
            if key in params:
                params[key] = _checked(key, value)
            elif key in _PER_CALL_CLIENT:
                overrides[key] = value
            elif key == "model_kwargs":
                extra.update(_checked(key, value))
            elif key not in _NOT_BODY and not key.startswith("ls_"):
                extra[key] = value
        params["extra"] = extra
        return params, overrides

    def _warn_once(self, adaptations: Iterable[_request.Adaptation | None]) -> None:
        """The one place request adaptations are warned: once per model instance and reason.

        Silence them with
        `warnings.filterwarnings("ignore", category=GLMCompatibilityWarning)`.
        """
        for adaptation in adaptations:
            if adaptation is None or adaptation.reason in self._warned:
                continue
            self._warned.add(adaptation.reason)
            warnings.warn(adaptation.message, _request.GLMCompatibilityWarning, stacklevel=3)

    def _client(self, overrides: Mapping[str, Any]) -> GLMClient:
        """The client for this call: this model's one `GLMClient`, with per-call options.

        Built once per model configuration (pools are shared per process and event loop);
        per-call `timeout`, `max_retries` and `default_headers` (the only keys `_call_params`
        puts in `overrides`) make a cheap view of it.
        """
        previous = self._glm
        cached = client_for(self, previous)
        if cached is not previous:
            self._glm = cached
        glm = cached[1]
        return glm.with_options(**overrides) if overrides else glm

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """Send one non-streaming request and convert the reply."""
        call = self._prepare(messages, stop, kwargs, stream=False)
        with _where_served(call.model):
            return _response.chat_result(call.client.post(call.payload), model=call.model)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """Async twin of `_generate`."""
        call = self._prepare(messages, stop, kwargs, stream=False)
        with _where_served(call.model):
            reply = await call.client.apost(call.payload)
        return _response.chat_result(reply, model=call.model)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """Stream the reply; chunks are built by the shared `StreamParser`."""
        call = self._prepare(messages, stop, kwargs, stream=True)
        parser = StreamParser(model=call.model)
        with _where_served(call.model):
            for frame in call.client.stream(call.payload):
                chunk = parser.feed(frame)
                if chunk is not None:
                    yield ChatGenerationChunk(message=chunk)
        for chunk in parser.finish():
            yield ChatGenerationChunk(message=chunk)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        """Async twin of `_stream`."""
        call = self._prepare(messages, stop, kwargs, stream=True)
        parser = StreamParser(model=call.model)
        with _where_served(call.model):
            async for frame in call.client.astream(call.payload):
                chunk = parser.feed(frame)
                if chunk is not None:
                    yield ChatGenerationChunk(message=chunk)
        for chunk in parser.finish():
            yield ChatGenerationChunk(message=chunk)

    # ------------------------------------------------------------------ Batch API

    def batch_submit(self, inputs: Sequence[LanguageModelInput], **kwargs: Any) -> BatchJob:
        """Submit inputs to GLM's Batch API (half price, within 24 h); returns at once.

        Each input (a string, message list or prompt value) becomes one JSONL line whose
        body is byte for byte the body `invoke` would send with the same options; streaming
        options are dropped. More than 50,000 requests or 100 MB are split over several
        batches under one job id. GLM deletes each upload once its batch exists; an upload
        whose batch was surely not created is deleted by us.

        Args:
            inputs: What `batch` accepts.
            **kwargs: Per-call options, as for `invoke` (`max_tokens`, `thinking`, `stop`,
                `tools`, `response_format`, ...), plus `max_requests_per_batch`,
                `max_bytes_per_batch` (split limits, default GLM's) and `metadata` (up to
                13 string keys, GLM's limits).

        Returns:
            The job; `job.wait()` then `job.results()` give one result per input, in order.
        """
        from langchain_glm.batch import BatchJob

        requests, options = self._batch_requests(inputs, kwargs)
        return BatchJob.submit(requests, **options)

    async def abatch_submit(self, inputs: Sequence[LanguageModelInput], **kwargs: Any) -> BatchJob:
        """Async twin of `batch_submit`."""
        from langchain_glm.batch import BatchJob

        requests, options = self._batch_requests(inputs, kwargs)
        return await BatchJob.asubmit(requests, **options)

    def batch_retrieve(self, job_id: str) -> BatchJob:
        """Resume a Batch API job by its `id`, e.g. in another process.

        Args:
            job_id: `BatchJob.id` of a job submitted with the same API key.

        Returns:
            The job, with its current status.

        Raises:
            ValueError: For an id that is not a GLM batch job id, or whose batches are not
                one job (checked against their metadata).
        """
        from langchain_glm.batch import BatchJob

        return BatchJob.retrieve(self._batch_requests([], {})[0], job_id)

    async def abatch_retrieve(self, job_id: str) -> BatchJob:
        """Async twin of `batch_retrieve`."""
        from langchain_glm.batch import BatchJob

        return await BatchJob.aretrieve(self._batch_requests([], {})[0], job_id)

    def _batch_requests(
        self, inputs: Sequence[LanguageModelInput], kwargs: Mapping[str, Any]
    ) -> tuple[BatchRequests, dict[str, Any]]:
        """The bodies `invoke` would send, the client and result converter, the job options."""
        from langchain_glm.batch import BatchRequests

        options = {k: v for k, v in kwargs.items() if k in _BATCH_OPTIONS}
        call_kwargs = {
            k: v for k, v in kwargs.items() if k not in _BATCH_OPTIONS and k not in _STREAM_ONLY
        }
        stop = call_kwargs.pop("stop", None)
        calls = [self._prepare(_input_messages(x), stop, call_kwargs, stream=False) for x in inputs]
        client = calls[0].client if calls else self._client({})
        model = calls[0].model if calls else self.model_name
        timeout = call_kwargs.get("timeout", self.timeout)
        convert = functools.partial(batch_message, model=model, output_version=self.output_version)
        limit = timeout.read if isinstance(timeout, httpx.Timeout) else timeout
        payloads = [call.payload for call in calls]
        return BatchRequests(client, payloads, convert, limit), options

    def batch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[AIMessage]:
        """Run inputs concurrently, or through the Batch API when `use_batch_api` is set.

        With `use_batch_api`, this blocks until the whole job has ended (up to 24 h, or
        `batch_timeout`); the job id is logged at INFO as soon as it exists and is on every
        error (`job_id`), so `batch_retrieve` can resume it. Callbacks fire per input as in
        core's `batch`: `on_chat_model_start` before submitting, then `on_llm_end` or
        `on_llm_error`, with each config's callbacks, tags, metadata and run name.

        Args:
            inputs: The inputs.
            config: Runnable config, one for all or one per input.
            return_exceptions: Return errors in the list instead of raising the first.
            **kwargs: Per-call options, as for `invoke`.

        Returns:
            One message (or error, with `return_exceptions`) per input, in order.
        """
        if not self.use_batch_api or not inputs:
            return super().batch(inputs, config, return_exceptions=return_exceptions, **kwargs)
        from langchain_glm.batch import DropInRuns

        runs = DropInRuns(self._run_starts(inputs, config, kwargs))
        runs.start()
        try:
            job = self.batch_submit(inputs, **kwargs)
            _LOG.info("GLM batch job %s created for %d inputs", job.id, len(inputs))
            job.wait(poll_interval=self.batch_poll_interval, timeout=self.batch_timeout)
            results = job.results()
        except BaseException as exc:
            runs.fail(exc)
            raise
        return cast("list[AIMessage]", runs.end(results, return_exceptions))

    async def abatch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[AIMessage]:
        """Async twin of `batch`."""
        if not self.use_batch_api or not inputs:
            return await super().abatch(
                inputs, config, return_exceptions=return_exceptions, **kwargs
            )
        from langchain_glm.batch import DropInRuns

        runs = DropInRuns(self._run_starts(inputs, config, kwargs))
        await runs.astart()
        try:
            job = await self.abatch_submit(inputs, **kwargs)
            _LOG.info("GLM batch job %s created for %d inputs", job.id, len(inputs))
            await job.await_completion(
                poll_interval=self.batch_poll_interval, timeout=self.batch_timeout
            )
            results = await job.aresults()
        except BaseException as exc:
            await runs.afail(exc)
            raise
        return cast("list[AIMessage]", await runs.aend(results, return_exceptions))

    def _run_starts(
        self,
        inputs: Sequence[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None,
        kwargs: Mapping[str, Any],
    ) -> list[dict[str, Any]]:
        """Per input: what core's `generate` hands its callback manager and run start."""
        call = {k: v for k, v in kwargs.items() if k not in _BATCH_OPTIONS}
        stop = call.get("stop")
        params = self._get_invocation_params(**call)
        # What core's `_get_ls_params_with_defaults` adds to the partner hook `_get_ls_params`
        # (langchain-core 1.x has no public spelling of that wrapper).
        meta = {**self._get_ls_params(**call), "ls_integration": "langchain_chat_model"}
        serialized = dumpd(self)
        return [
            {
                "configure": {
                    "inheritable_callbacks": conf.get("callbacks"),
                    "local_callbacks": self.callbacks,
                    "verbose": self.verbose,
                    "inheritable_tags": conf.get("tags"),
                    "local_tags": self.tags,
                    "inheritable_metadata": {**(conf.get("metadata") or {}), **meta},
                    "local_metadata": self.metadata,
                },
                "start": {
                    "serialized": serialized,
                    "messages": [_input_messages(x)],
                    "invocation_params": params,
                    "options": {"stop": stop},
                    "name": conf.get("run_name"),
                    "run_id": conf.get("run_id"),
                    "batch_size": 1,
                },
            }
            for x, conf in zip(inputs, get_config_list(config, len(inputs)), strict=True)
        ]

    # ------------------------------------------------------------------ token counting

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Count the prompt tokens of messages (and tools).

        Exact, with GLM's own tokenizer (`POST {base_url}/tokenizer`), for the models GLM
        documents it for: glm-4.6, glm-4.6v and glm-4.5. Repeated counts of the same
        messages are answered from a bounded per-model cache, so
        `trim_messages(token_counter=llm)` does not resend what it counted before.
        Every other model (GLM-4.7, GLM-5.x, self-hosted ones) gets langchain-core's
        `count_tokens_approximately` (about 4 characters per token), with a one-time
        `GLMCompatibilityWarning`. A server without the endpoint raises `GLMNotFoundError`.

        Args:
            messages: The messages to count.
            tools: Tools that would be bound, if any.

        Returns:
            The number of prompt tokens.
        """
        spec = spec_for(self.model_name)
        if spec is None or not spec.tokenizer:
            self._warn_once([_approximate_tokens(self.model_name)])
            glm_tools: list[BaseTool | dict[str, Any]] = [
                _request.tool_to_glm(tool) for tool in tools or ()
            ]
            return count_tokens_approximately(messages, tools=glm_tools or None)
        payload = _request.tokenizer_payload(self.model_name, messages, tools)
        key = _request.body_key(payload)
        with self._token_lock:
            if key in self._token_counts:
                self._token_counts.move_to_end(key)
                return self._token_counts[key]
        count = _request.prompt_tokens(self._client({}).post(payload, path=TOKENIZER))
        with self._token_lock:
            self._token_counts[key] = count
            while len(self._token_counts) > _TOKEN_CACHE_SIZE:
                self._token_counts.popitem(last=False)
        return count

    def get_num_tokens(self, text: str) -> int:
        """Count the tokens of a text sent as one user message (see `get_num_tokens_from_messages`).

        Args:
            text: The text.

        Returns:
            The number of prompt tokens, including the few of the message wrapper.
        """
        return self.get_num_tokens_from_messages([HumanMessage(text)])

    # ------------------------------------------------------------------ tools

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (functions, pydantic classes, BaseTools, dicts, GLM built-ins).

        GLM accepts only `tool_choice="auto"`. A forcing choice (`"any"`,
        `"required"`, `True`, a tool name or a dict) is therefore sent as `"auto"`
        together with a system instruction that tells the model to call the tool;
        a `GLMCompatibilityWarning` says so, once per model instance, here at bind
        time (silence it with
        `warnings.filterwarnings("ignore", category=GLMCompatibilityWarning)`). A
        structured-output binding forces its tool by design and does not warn:
        `with_structured_output` (it passes `ls_structured_output_format`), and
        `create_agent(llm, response_format=Schema)`, whose answer tool has no function
        to run (so forcing any such function-less `StructuredTool` does not warn).
        `"none"` sends no tools. Tools are checked here: at most 128, names matching
        `^[A-Za-z0-9_-]{1,64}$`, parameters a JSON-schema object.

        Args:
            tools: The tools. GLM built-ins pass through as dicts, e.g.
                `{"type": "web_search", "web_search": {"enable": True}}` (a `web_search`
                tool without `search_engine` gets that of the platform of `base_url`).
            tool_choice: Which tool the model should call (see above).
            strict: Accepted for compatibility with other chat models and ignored:
                GLM has no strict schema mode.
            **kwargs: Other request fields bound with the tools.

        Returns:
            A runnable that calls the model with the tools.
        """
        del strict  # GLM has no strict mode (https://docs.z.ai/api-reference/llm/chat-completion).
        glm_tools = [_request.tool_to_glm(tool) for tool in tools]
        glm_tools = [with_search_engine(tool, self.base_url) for tool in glm_tools]
        _request.check_tools(glm_tools)
        forced = _request.forced_tool_name(tool_choice, glm_tools)
        if forced is not None and "ls_structured_output_format" not in kwargs:
            from langchain_glm import _structured  # see with_structured_output

            if not _structured.forces_an_answer_tool(forced, tools):  # else: by design
                self._warn_once([_request.forced_choice_adaptation(tool_choice, glm_tools)])
        if tool_choice is not None and tool_choice is not False:
            kwargs["tool_choice"] = tool_choice
        return super().bind(tools=glm_tools, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        method: Literal["function_calling", "json_mode", "json_schema"] = "function_calling",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """Return a runnable whose output is parsed into `schema`.

        Args:
            schema: A pydantic class, TypedDict or JSON schema (None only for json_mode).
            method: `"function_calling"` (default), `"json_mode"` or `"json_schema"`
                (GLM has no native schema mode: served as json_mode plus validation).
            include_raw: Return `{"raw", "parsed", "parsing_error"}` instead.
            strict: Accepted for compatibility; GLM has no strict mode.
            **kwargs: Passed on to the model.

        Returns:
            The structured-output runnable.
        """
        from langchain_glm import _structured  # on first use: ~5 ms of import time

        return _structured.structured_runnable(
            self, schema, method=method, include_raw=include_raw, strict=strict, **kwargs
        )


_STRICT = ConfigDict(strict=True, arbitrary_types_allowed=True)
_PER_CALL_TYPES: dict[str, TypeAdapter[Any]] = {
    "model": TypeAdapter(str, config=_STRICT),
    "model_kwargs": TypeAdapter(dict[str, Any], config=_STRICT),
    **{
        name: TypeAdapter(Any if annotation is None else annotation, config=_STRICT)
        for name, annotation in ((n, ChatGLM.model_fields[n].annotation) for n in _BODY_FIELDS)
        if name != "thinking"
    },
}
"""Per-call body values are validated strictly by the field's own type: `"10"` is no
`max_tokens` and `"false"` no `do_sample` (pydantic would coerce them at construction)."""


def _checked(key: str, value: Any) -> Any:
    """A per-call value, validated by its field's type; a ValueError names what is expected."""
    if key == "thinking":
        _request.parse_thinking(value)
        return value
    adapter = _PER_CALL_TYPES[key]
    try:
        return adapter.validate_python(value)
    except ValidationError:
        annotation = ChatGLM.model_fields[key].annotation if key in _BODY_FIELDS else adapter
        msg = f"{key}={value!r} is not valid for ChatGLM.{key} ({annotation}); nothing was sent."
        raise ValueError(msg) from None


def _input_messages(model_input: LanguageModelInput) -> list[BaseMessage]:
    """The messages `invoke` makes of an input: a prompt value's, a string's, a list's."""
    if isinstance(model_input, PromptValue):
        return model_input.to_messages()
    if isinstance(model_input, str):
        return [HumanMessage(content=model_input)]
    return convert_to_messages(model_input)


@contextmanager
def _where_served(model: str) -> Iterator[None]:
    """Add where GLM serves a model (GLM-5.4: the Coding Plan) to its 1211 unknown-model error."""
    try:
        yield
    except GLMNotFoundError as error:
        spec = spec_for(model)
        if error.code == "1211" and spec is not None and spec.availability:
            error.message = f"{error.message} ({spec.availability})."
            error.args = (error.message,)
        raise


def batch_message(body: dict[str, Any], *, model: str, output_version: str | None) -> AIMessage:
    """The `AIMessage` `invoke` returns for a chat-completion body (a Batch API result).

    The conversion of `_generate`, then what `BaseChatModel` adds on `invoke`:
    `content_blocks` as content for `output_version="v1"`, and `llm_output` merged into
    `response_metadata`.

    Raises:
        GLMAPIError: For a body that is no readable answer.
    """
    result = _response.chat_result(body, model=model)
    generation = result.generations[0]
    message = generation.message
    if output_version == "v1":
        meta = {**message.response_metadata, "output_version": "v1"}
        update = {"content": message.content_blocks, "response_metadata": meta}
        message = message.model_copy(update=update)
    info = generation.generation_info or {}
    message.response_metadata = {**(result.llm_output or {}), **info, **message.response_metadata}
    return cast("AIMessage", message)


def _reject_model_settings(kwargs: Mapping[str, Any]) -> None:
    """Per-call `api_key`, `base_url`, `jwt_auth` and clients are errors: set them on the model."""
    misplaced = sorted(key for key in _MODEL_ONLY if key in kwargs)
    if misplaced:
        name = misplaced[0]
        msg = (
            f"{name} cannot be set per call; set it on the model: ChatGLM({name}=...). "
            "Per call, only request fields, timeout, max_retries and default_headers change."
        )
        raise ValueError(msg)


def _approximate_tokens(model: str) -> _request.Adaptation:
    """The one-time notice that a model's token count is approximated."""
    message = (
        f"GLM's /tokenizer counts only glm-4.6, glm-4.6v and glm-4.5; token counts for "
        f"{model!r} are approximated with langchain-core's count_tokens_approximately."
    )
    return _request.Adaptation(f"tokens:{model}", message)


__all__ = ["DEFAULT_BASE_URL", "ChatGLM"]
