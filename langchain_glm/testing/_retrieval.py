"""The retrieval family: ``/embeddings`` and ``/rerank`` as pure code (no I/O).

Shapes as at https://docs.bigmodel.cn/api-reference/模型-api/文本嵌入 (OpenAI's embeddings shape)
and https://docs.bigmodel.cn/api-reference/模型-api/文本重排序. Vectors are hashed bags of words
(each word adds ±1 to one coordinate, chosen by a stable hash of the word), normalized to unit
length: deterministic, seeded by the text, and close for texts that share words. Rerank scores
are the share of the query's words found in the document. Queued replies and faults apply as
for chat (a queued chat `Reply` is answered with a 500 that says so); scripts answer chat only.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from langchain_glm.testing._base import (
    ErrorReply,
    Host,
    RecordedRequest,
    Reply,
    WireReply,
    render_error,
    tokens,
)

EMBEDDING_MODELS: dict[str, tuple[int, ...]] = {
    "embedding-3": (2048, 256, 512, 1024),
    "embedding-2": (1024,),
}
"""Embedding models served and the dimensions each takes (the first is its default)."""
MAX_INPUTS = 64
"""Texts per embeddings request (GLM's limit for embedding-3, UNCONFIRMED upstream)."""
MAX_INPUT_TOKENS = 8192
"""Longest embeddings input, in this server's rough tokens (UNCONFIRMED upstream)."""
MAX_DOCUMENTS = 128
"""Documents per rerank request."""
MAX_CHARS = 4096
"""Characters of a rerank query and of each rerank document."""
_WORD = re.compile(r"\w+")
Problem = tuple[str, str]  # (GLM code, message)


def words(text: str) -> list[str]:
    """The lower-case words of a text (runs of letters, digits and underscores)."""
    return _WORD.findall(text.lower())


def _bucket(word: str, dimensions: int) -> tuple[int, float]:
    digest = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
    return digest % dimensions, 1.0 if digest >> 63 else -1.0


def vector(text: str, dimensions: int) -> list[float]:
    """The unit vector of a text: its hashed bag of words (the text itself when it has none)."""
    values = [0.0] * dimensions
    for word in words(text) or [text]:
        where, sign = _bucket(word, dimensions)
        values[where] += sign
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def relevance(query: str, document: str) -> float:
    """The share of the query's distinct words that the document holds, in ``[0, 1]``."""
    asked = set(words(query))
    return round(len(asked & set(words(document))) / len(asked), 6) if asked else 0.0


def _texts(value: Any, name: str, limit: int) -> Iterator[Problem]:
    if not isinstance(value, list) or not value or len(value) > limit:
        yield "1210", f"{name}: must be a list of 1 to {limit} strings"
    elif not all(isinstance(text, str) and text for text in value):
        yield "1210", f"{name}: every item must be a non-empty string"


def _embedding_problems(body: dict[str, Any]) -> Iterator[Problem]:
    accepted = EMBEDDING_MODELS.get(str(body.get("model")))
    if accepted is None:
        yield "1211", "Model does not exist, please check the model code."
        return
    texts = body.get("input")
    yield from _texts([texts] if isinstance(texts, str) else texts, "input", MAX_INPUTS)
    dimensions = body.get("dimensions", accepted[0])
    if dimensions not in accepted or isinstance(dimensions, bool):
        takes = ", ".join(map(str, sorted(accepted)))
        yield "1210", f"dimensions: {body['model']} takes {takes}, not {dimensions!r}"
    for i, text in enumerate(texts if isinstance(texts, list) else [texts]):
        if isinstance(text, str) and tokens(len(text)) > MAX_INPUT_TOKENS:
            yield "1261", f"input[{i}]: longer than {MAX_INPUT_TOKENS} tokens"


def _rerank_problems(body: dict[str, Any]) -> Iterator[Problem]:
    if body.get("model", "rerank") != "rerank":
        yield "1211", "Model does not exist, please check the model code."
    query, documents, top_n = body.get("query"), body.get("documents"), body.get("top_n", 0)
    if not isinstance(query, str) or not query.strip() or len(query) > MAX_CHARS:
        yield "1210", f"query: must be a non-empty string of at most {MAX_CHARS} characters"
    yield from _texts(documents, "documents", MAX_DOCUMENTS)
    if isinstance(documents, list) and any(len(str(d)) > MAX_CHARS for d in documents):
        yield "1210", f"documents: each must be at most {MAX_CHARS} characters"
    if not isinstance(top_n, int) or isinstance(top_n, bool) or top_n < 0:
        yield "1210", "top_n: must be a non-negative integer"


def _refusal(host: Host, body: Any, problems: Iterator[Problem]) -> ErrorReply | None:
    if not isinstance(body, dict):
        return ErrorReply(400, "1210")
    found = next(problems, None) if host.validate else None
    return None if found is None else ErrorReply(400, *found)


def _serve(host: Host, request: RecordedRequest, make: Callable[[], dict[str, Any]]) -> WireReply:
    """A queued answer if there is one, else ``make()`` as JSON; a queued chat `Reply` is a 500."""
    queued = host.next_answer(request, lambda _: WireReply.of(200, make()), use_script=False)
    if isinstance(queued, Reply):
        why = f"a chat Reply was queued, but {request.path} was asked"
        return render_error(ErrorReply(500, "500", why))
    return render_error(queued) if isinstance(queued, ErrorReply) else queued


def embeddings(host: Host, request: RecordedRequest, _: int) -> WireReply:
    """Answer ``POST /embeddings``: one unit vector per input, in input order."""
    body = request.json
    refusal = _refusal(host, body, _embedding_problems(body if isinstance(body, dict) else {}))
    if refusal is not None:
        return render_error(refusal)
    return _serve(host, request, lambda: _vectors(body))


def _vectors(body: dict[str, Any]) -> dict[str, Any]:
    model, texts, asked = str(body.get("model")), body.get("input"), body.get("dimensions")
    texts = [str(t) for t in (texts if isinstance(texts, list) else [texts])]
    default = EMBEDDING_MODELS.get(model, (1024,))[0]
    dimensions = asked if isinstance(asked, int) and 0 < asked <= 65536 else default
    data = [
        {"index": i, "object": "embedding", "embedding": vector(text, dimensions)}
        for i, text in enumerate(texts)
    ]
    used = sum(tokens(len(text)) for text in texts)
    usage = {"prompt_tokens": used, "completion_tokens": 0, "total_tokens": used}
    return {"model": model, "object": "list", "data": data, "usage": usage}


def rerank(host: Host, request: RecordedRequest, seq: int) -> WireReply:
    """Answer ``POST /rerank``: the documents' scores, best first, cut to ``top_n`` (0: all)."""
    body = request.json
    refusal = _refusal(host, body, _rerank_problems(body if isinstance(body, dict) else {}))
    if refusal is not None:
        return render_error(refusal)
    return _serve(host, request, lambda: _scores(body, seq))


def _scores(body: dict[str, Any], seq: int) -> dict[str, Any]:
    query, documents, top_n = str(body.get("query")), body.get("documents"), body.get("top_n")
    documents = [str(d) for d in documents] if isinstance(documents, list) else []
    ranked = sorted(range(len(documents)), key=lambda i: -relevance(query, documents[i]))
    ranked = ranked[: top_n if isinstance(top_n, int) and top_n > 0 else None]
    results: list[dict[str, Any]] = []
    for i in ranked:  # `sorted` is stable: equal scores stay in document order
        result = {"index": i, "relevance_score": relevance(query, documents[i])}
        with_text = body.get("return_documents") is True
        results.append(result | {"document": documents[i]} if with_text else result)
    used = tokens(len(query) + sum(len(d) for d in documents))
    ids = hashlib.sha256(f"rerank:{seq}".encode()).hexdigest()[:20]
    reply = {"created": int(time.time()), "id": ids, "request_id": ids, "results": results}
    return reply | {"usage": {"prompt_tokens": used, "total_tokens": used}}
