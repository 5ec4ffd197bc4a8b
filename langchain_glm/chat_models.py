"""`ChatGLM`: Zhipu / Z.ai GLM chat models (GLM-4.6 and family) for LangChain."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils import from_env, get_pydantic_field_names, secret_from_env
from pydantic import ConfigDict, Field, SecretStr, model_validator

import langchain_glm._compat  # noqa: F401  (registers the "zhipuai" block translator)
from langchain_glm import _request, _response
from langchain_glm._client import TOKENIZER, GLMClient
from langchain_glm._models import spec_for
from langchain_glm._streaming import StreamParser
from langchain_glm.data._profiles import profile_data

DEFAULT_BASE_URL = "https://open.bigmodel.cn/api/paas/v4"
"""China-mainland (BigModel) pay-as-you-go endpoint, the default."""

_BODY_FIELDS = (
    "thinking",
    "clear_thinking",
    "temperature",
    "top_p",
    "max_tokens",
    "do_sample",
    "tool_stream",
    "stop",
)
_CLIENT_FIELDS = ("timeout", "max_retries", "base_url", "api_key", "default_headers", "jwt_auth")
_NOT_BODY = {"stream", "run_manager", "stream_usage"}


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
    """Zhipu / Z.ai GLM chat models (GLM-4.6, GLM-4.5, GLM-4.6V, ...).

    Talks to GLM's chat-completions API directly with `httpx` and keeps what
    generic OpenAI clients drop: the model's reasoning
    (`additional_kwargs["reasoning_content"]` and a `reasoning` content block),
    `thinking` control, streamed tool arguments (`tool_stream`), cached and
    reasoning token counts, GLM web-search results, and errors mapped from GLM's
    business codes to `langchain_core.exceptions` classes.

    Setup:
        `pip install langchain-glm` and set `ZAI_API_KEY` (or `ZHIPUAI_API_KEY`).

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

    Every field can also be overridden per call, e.g.
    `llm.invoke(messages, thinking=False, max_tokens=50)`. The walkthrough
    (async, thinking control, `tool_stream`, web search, errors) is in
    `notebooks/quickstart.ipynb`.
    """

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    model_name: str = Field(default="glm-4.6", alias="model")
    """GLM model id, e.g. `"glm-4.6"`, `"glm-4.5-air"`, `"glm-4.6v"` (alias `model`)."""

    api_key: SecretStr | None = Field(
        default_factory=secret_from_env(["ZAI_API_KEY", "ZHIPUAI_API_KEY"], default=None)
    )
    """API key, from `ZAI_API_KEY`, else `ZHIPUAI_API_KEY`. Not needed to construct
    the model; a call without one raises `GLMAuthenticationError` before sending."""

    base_url: str = Field(
        default_factory=from_env(["ZAI_BASE_URL", "ZHIPUAI_BASE_URL"], default=DEFAULT_BASE_URL)
    )
    """API base; requests go to `{base_url}/chat/completions`. From `ZAI_BASE_URL`, else
    `ZHIPUAI_BASE_URL`, else `https://open.bigmodel.cn/api/paas/v4`. Others:
    `https://api.z.ai/api/paas/v4` (international), the GLM Coding Plan bases
    `https://api.z.ai/api/coding/paas/v4` and `https://open.bigmodel.cn/api/coding/paas/v4`,
    and self-hosted vLLM / SGLang servers (`http://host:8000/v1`)."""

    thinking: bool | None = None
    """Enable (`True`) or disable (`False`) GLM's thinking; `None` leaves the server
    default (GLM-4.6 decides per request). Sent as `thinking: {"type": ...}`."""

    clear_thinking: bool | None = None
    """`False` asks GLM to keep earlier turns' reasoning (preserved thinking); every
    earlier assistant turn's reasoning is then resent unmodified. `None` = server default."""

    temperature: float | None = None
    """Sampling temperature in `[0, 1]`; `None` = model default (1.0 for GLM-4.6)."""

    top_p: float | None = None
    """Nucleus sampling in `[0, 1]`; `None` = model default."""

    max_tokens: int | None = None
    """Maximum output tokens (GLM-4.6: up to 131072); `None` = model default."""

    stop: list[str] | str | None = Field(default=None, alias="stop_sequences")
    """Stop sequence. GLM accepts one; more than one is a clear error before sending."""

    do_sample: bool | None = None
    """`False` = greedy decoding (temperature and top_p are then ignored by GLM)."""

    streaming: bool = False
    """Stream by default, also for `invoke` (the result is aggregated)."""

    tool_stream: bool = False
    """Stream tool-call arguments as they are generated (GLM-4.6+); sent only on
    streaming calls that carry tools."""

    timeout: float | httpx.Timeout | None = Field(default=60.0, alias="request_timeout")
    """Request timeout in seconds, or an `httpx.Timeout`; `None` waits forever."""

    max_retries: int = Field(default=2, ge=0)
    """Retries of retryable failures (rate limits, 5xx, connection errors) while opening
    a request. Billing and quota errors are never retried; a stream is never resent
    once its first chunk has been handed out."""

    default_headers: dict[str, str] | None = None
    """Extra HTTP headers sent with every request."""

    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Extra request-body fields passed through as given (e.g. `request_id`, `user_id`,
    or `chat_template_kwargs` for self-hosted vLLM)."""

    jwt_auth: bool = False
    """Sign requests with a short-lived JWT made from an `id.secret` key instead of
    sending the key itself (legacy BigModel scheme)."""

    http_client: httpx.Client | None = Field(default=None, exclude=True)
    """An `httpx.Client` to use as given (proxies, custom transports). By default a
    connection pool shared per process and configuration is used."""

    http_async_client: httpx.AsyncClient | None = Field(default=None, exclude=True)
    """An `httpx.AsyncClient` to use as given, for the async methods."""

    # ------------------------------------------------------------------ validators

    @model_validator(mode="before")
    @classmethod
    def _collect_body_kwargs(cls, values: Any) -> Any:
        """Send unknown constructor keywords as request-body fields, never drop them.

        `ChatGLM(request_id="r1")` is taken as `model_kwargs={"request_id": "r1"}`, with a
        warning; a ChatGLM field inside `model_kwargs` is an error (pass it directly).
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
        warnings.warn(
            f"{sorted(extra)} are not ChatGLM fields; they are sent as request-body fields "
            "(model_kwargs).",
            UserWarning,
            stacklevel=4,
        )
        kept = {key: value for key, value in values.items() if key in known}
        return {**kept, "model_kwargs": {**body, **extra}}

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
        """Constructor fields that hold secrets, and the env var each comes from."""
        return {"api_key": "ZAI_API_KEY"}

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
        """Resolve fields and per-call overrides into a request body and a client."""
        params: dict[str, Any] = {name: getattr(self, name) for name in _BODY_FIELDS}
        params["model"] = self.model_name
        extra = dict(self.model_kwargs)
        overrides: dict[str, Any] = {}
        for key, value in kwargs.items():
            if key in params:
                params[key] = value
            elif key in _CLIENT_FIELDS:
                overrides[key] = value
            elif key not in _NOT_BODY and not key.startswith("ls_"):
                extra[key] = value
        if stop is not None:
            params["stop"] = stop
        params["stream"] = stream
        params["extra"] = extra
        payload = _request.build_payload(messages, params)
        return _Call(payload=payload, client=self._client(overrides))

    def _client(self, overrides: Mapping[str, Any]) -> GLMClient:
        """The HTTP client for this call (cheap: connection pools are shared)."""
        settings = {name: getattr(self, name) for name in _CLIENT_FIELDS}
        settings.update(overrides)
        key = settings["api_key"]
        return GLMClient(
            base_url=settings["base_url"],
            api_key=key.get_secret_value() if isinstance(key, SecretStr) else key,
            timeout=settings["timeout"],
            max_retries=settings["max_retries"],
            default_headers=settings["default_headers"],
            http_client=self.http_client,
            http_async_client=self.http_async_client,
            jwt_auth=settings["jwt_auth"],
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """Send one non-streaming request and convert the reply."""
        call = self._prepare(messages, stop, kwargs, stream=False)
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
        return _response.chat_result(await call.client.apost(call.payload), model=call.model)

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
        async for frame in call.client.astream(call.payload):
            chunk = parser.feed(frame)
            if chunk is not None:
                yield ChatGenerationChunk(message=chunk)
        for chunk in parser.finish():
            yield ChatGenerationChunk(message=chunk)

    # ------------------------------------------------------------------ token counting

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Count the prompt tokens of messages (and tools) exactly, with GLM's own tokenizer.

        Sends one request to GLM's token-counting endpoint (`POST {base_url}/tokenizer`),
        which GLM documents for glm-4.6, glm-4.6v and glm-4.5. Self-hosted servers
        (vLLM, SGLang) do not offer it; there the call raises `GLMNotFoundError`.

        Args:
            messages: The messages to count.
            tools: Tools that would be bound, if any.

        Returns:
            The number of prompt tokens.
        """
        payload = _request.tokenizer_payload(self.model_name, messages, tools)
        return _request.prompt_tokens(self._client({}).post(payload, path=TOKENIZER))

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
        a warning says so. `"none"` sends no tools.

        Args:
            tools: The tools. GLM built-ins pass through as dicts, e.g.
                `{"type": "web_search", "web_search": {"enable": True}}`.
            tool_choice: Which tool the model should call (see above).
            strict: Accepted for compatibility with other chat models and ignored:
                GLM has no strict schema mode.
            **kwargs: Other request fields bound with the tools.

        Returns:
            A runnable that calls the model with the tools.
        """
        del strict  # GLM has no strict mode (glm-api §3.1).
        glm_tools = [_request.tool_to_glm(tool) for tool in tools]
        if _request.forced_tool_name(tool_choice, glm_tools) is not None:
            warnings.warn(
                f"GLM accepts only tool_choice='auto'; tool_choice={tool_choice!r} is sent as "
                "'auto' with a system instruction to call the tool.",
                _request.GLMCompatibilityWarning,
                stacklevel=2,
            )
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
        from langchain_glm._structured import structured_runnable

        return structured_runnable(
            self, schema, method=method, include_raw=include_raw, strict=strict, **kwargs
        )


__all__ = ["DEFAULT_BASE_URL", "ChatGLM"]
