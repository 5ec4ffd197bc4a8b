"""`make demo`: ChatGLM in five steps, against the real API or the bundled local GLM server.

Run `python -m langchain_glm.demo`. With `ZAI_API_KEY` (or `ZHIPUAI_API_KEY`) set it talks
to the real GLM API; otherwise it starts `langchain_glm.testing.GLMServer` on 127.0.0.1,
scripts its replies, and says so.
"""

from __future__ import annotations

import os
from contextlib import ExitStack

from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from langchain_glm import ChatGLM, GLMError
from langchain_glm.testing import GLMServer


@tool
def get_weather(city: str) -> str:
    """Return the current weather in a city."""
    return f"Sunny and 24 C in {city}"


class Answer(BaseModel):
    """A short answer with the model's confidence."""

    answer: str = Field(description="The answer in one sentence")
    confidence: float = Field(description="Confidence from 0 to 1")


def _script(server: GLMServer) -> None:
    """Queue the local server's replies for the five steps (same order as `_run`)."""
    server.reply(
        reasoning="Sunlight scatters off air molecules; blue scatters most (Rayleigh).",
        text="Because air scatters blue light more than red (Rayleigh scattering).",
        usage={"prompt_tokens": 12, "completion_tokens": 40, "cached_tokens": 4},
    )
    server.reply(
        reasoning="Five, seven, five syllables; an autumn image.",
        text="Maple leaves let go,\nthe river carries their red\nfar past the cold hills.",
    )
    server.reply(
        reasoning="The user wants the weather; I will call get_weather.",
        tool_calls=[{"name": "get_weather", "arguments": {"city": "Florence"}}],
    )
    server.reply(text="It is sunny and 24 C in Florence.")
    answer = {"answer": "Paris", "confidence": 0.98}
    server.reply(tool_calls=[{"name": "Answer", "arguments": answer}])
    server.reply_error(429, "1113", "Insufficient balance or no resource package.")


def _run(llm: ChatGLM, *, local: bool) -> None:
    """The five steps: invoke, stream, a tool round trip, structured output, an error."""
    print("1. invoke")
    msg = llm.invoke("Why is the sky blue? One sentence.")
    print("   reasoning:", msg.additional_kwargs.get("reasoning_content", "(none)")[:200])
    print("   answer:   ", msg.content)
    print("   usage:    ", msg.usage_metadata)

    print("2. stream (reasoning, then text, as generated)")
    for chunk in llm.stream("Write a haiku about autumn."):
        print(chunk.additional_kwargs.get("reasoning_content", "") + chunk.text, end="", flush=True)
    print()

    print("3. tools")
    with_tools = llm.bind_tools([get_weather])
    question = HumanMessage("What's the weather in Florence?")
    first = with_tools.invoke([question])
    history: list[BaseMessage] = [question, first]
    for call in first.tool_calls:
        print(f"   tool call: {call['name']}({call['args']})")
        history.append(get_weather.invoke(call))
    print("   answer:   ", with_tools.invoke(history).content)

    print("4. structured output")
    print("   ", llm.with_structured_output(Answer).invoke("What is the capital of France?"))

    if local:
        print("5. errors say what GLM meant (scripted 429 with business code 1113)")
        try:
            llm.invoke("Hello")
        except GLMError as err:
            print(f"   {type(err).__name__}: {err} (retryable: {err.is_retryable})")


def main() -> None:
    """Run the demo against the real API when a key is set, else against the local server."""
    live = bool(os.environ.get("ZAI_API_KEY") or os.environ.get("ZHIPUAI_API_KEY"))
    with ExitStack() as stack:
        if live:
            print("Using the real GLM API (ZAI_API_KEY is set).")
            llm = ChatGLM(model="glm-4.6", max_tokens=2048)
        else:
            server = stack.enter_context(GLMServer())
            print("ZAI_API_KEY is not set: using the bundled local GLM server at", server.base_url)
            print("(scripted replies from langchain_glm.testing; set ZAI_API_KEY for the real API)")
            _script(server)
            llm = ChatGLM(model="glm-4.6", base_url=server.base_url, api_key="demo", max_retries=0)
        _run(llm, local=not live)


if __name__ == "__main__":
    main()
