"""GLM's Batch API (files and batches) as pure code, for the test service; no I/O here.

Routes as documented at https://docs.bigmodel.cn/cn/guide/tools/batch : multipart ``POST /files``
(``purpose=batch``), ``GET /files/{id}/content``, ``DELETE /files/{id}``, ``POST /batches``,
``GET /batches/{id}``, ``POST /batches/{id}/cancel`` and ``GET /batches``. A batch walks
validating → in_progress → finalizing → completed (or failed / cancelling → cancelled / expired).
``state`` (``GLMService.batch_state``) holds everything. Settings: ``state["auto_advance"]``
(default True: each ``GET /batches/{id}`` advances one step) and ``state["lines_per_step"]``
(default None: in_progress answers every line in one step).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs

from langchain_glm.testing._replies import Plan, RecordedRequest, dumps, error_body

Answer = Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]
"""Answers one line's chat body: ``(HTTP status, JSON body)``, by the service's scripting."""
ENDPOINT = "/v4/chat/completions"
MAX_LINES = 50_000
_ROUTE = re.compile(r"/(files|batches)(?:/([^/]+))?(?:/(content|cancel))?$")
_STEP = {"validating": "in_progress", "in_progress": "finalizing"}
_END = {"finalizing": "completed", "cancelling": "cancelled"}


def _json(obj: Any, status: int = 200) -> Plan:
    return Plan.of(status, dumps(obj))


def _now() -> int:
    return int(time.time() * 1000)  # GLM's batch timestamps are milliseconds


def _new_id(state: dict[str, Any], prefix: str) -> str:
    state["seq"] = state.get("seq", 0) + 1
    return f"{prefix}{1791490810192076800 + state['seq']}"  # the documented id shape


def _store(state: dict[str, Any], content: bytes) -> str:
    file_id = _new_id(state, "file_")
    state.setdefault("files", {})[file_id] = {"id": file_id, "content": content}
    return file_id


def multipart_fields(content_type: str, body: bytes) -> dict[str, bytes]:
    """Split a ``multipart/form-data`` body into ``{field name: raw value}`` (stdlib `email`)."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(EmailMessage, policy=HTTP).parsebytes(head + body)
    parts = (
        (part.get_param("name", header="content-disposition"), part)
        for part in message.iter_parts()
    )
    return {str(name): bytes(part.get_payload(decode=True)) for name, part in parts}


def _upload(request: RecordedRequest, _: str, state: dict[str, Any]) -> Plan:
    fields = multipart_fields(request.headers.get("content-type", ""), request.body)
    if fields.get("purpose") != b"batch" or "file" not in fields:
        return _json(error_body("1210", "multipart form needs a `file` and purpose=batch"), 400)
    obj = {"id": _store(state, fields["file"]), "object": "file", "bytes": len(fields["file"])}
    return _json({**obj, "purpose": "batch", "created_at": _now(), "filename": "batch.jsonl"})


def _content(_: RecordedRequest, file_id: str, state: dict[str, Any]) -> Plan:
    return Plan.of(200, state["files"][file_id]["content"], "application/octet-stream")


def _delete(_: RecordedRequest, file_id: str, state: dict[str, Any]) -> Plan:
    del state["files"][file_id]
    return _json({"id": file_id, "object": "file", "deleted": True})


def _create(request: RecordedRequest, _: str, state: dict[str, Any]) -> Plan:
    body = request.json if isinstance(request.json, dict) else {}
    file_id = body.get("input_file_id")
    if file_id not in state.get("files", {}) or body.get("endpoint") != ENDPOINT:
        reason = f"needs an uploaded input_file_id (not {file_id!r}) and endpoint {ENDPOINT}"
        return _json(error_body("1210", reason), 400)
    batch_id, counts = _new_id(state, "batch_"), {"total": 0, "completed": 0, "failed": 0}
    batch = {"id": batch_id, "object": "batch", "endpoint": ENDPOINT, "input_file_id": file_id}
    batch |= {"completion_window": "24h", "errors": None, "status": "validating"}
    batch |= {"output_file_id": None, "error_file_id": None, "created_at": _now()}
    batch |= {"request_counts": counts, "metadata": body.get("metadata")}
    state.setdefault("batches", {})[batch_id] = batch
    keep = body.get("auto_delete_input_file", True) is False
    state.setdefault("work", {})[batch_id] = {"keep_input": keep, "lines": [], "out": []}
    return _json(batch)


def _get(_: RecordedRequest, batch_id: str, state: dict[str, Any]) -> Plan:
    if state.get("auto_advance", True):
        advance_batches(state, batch_id)
    return _json(state["batches"][batch_id])


def _cancel(_: RecordedRequest, batch_id: str, state: dict[str, Any]) -> Plan:
    batch = state["batches"][batch_id]
    if batch["status"] in ("validating", "in_progress", "finalizing"):
        batch.update(status="cancelling", cancelling_at=_now())
    return _json(batch)


def _list(request: RecordedRequest, _: str, state: dict[str, Any]) -> Plan:
    query = {key: values[0] for key, values in parse_qs(request.query).items()}
    newest = sorted(state.get("batches", {}).values(), key=lambda b: b["id"], reverse=True)
    start = next((i + 1 for i, b in enumerate(newest) if b["id"] == query.get("after")), 0)
    end = start + int(query.get("limit", "20"))
    page, more = newest[start:end], end < len(newest)
    ids = [batch["id"] for batch in page] or [None]
    return _json(
        {"object": "list", "data": page, "first_id": ids[0], "last_id": ids[-1], "has_more": more}
    )


def _line_error(line: Any, seen: set[str], model: Any) -> str | None:
    """Why one input line is refused (``seen``: the custom ids so far)."""
    if not isinstance(line, dict) or not isinstance(line.get("body"), dict):
        return "needs custom_id, method, url and a JSON body"
    if (line.get("method"), line.get("url")) != ("POST", ENDPOINT):
        return f"method must be POST and url {ENDPOINT}"
    if not isinstance(line.get("custom_id"), str) or line["custom_id"] in seen:
        return f"duplicate or missing custom_id {line.get('custom_id')!r}"
    if seen and line["body"].get("model") != model:
        return "a batch file must use one model"
    return None


def _parse(content: bytes) -> tuple[list[dict[str, Any]], str | None]:
    """An input file's lines, or the first reason it does not validate."""
    lines: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, raw in enumerate(content.splitlines(), start=1):
        try:
            line = json.loads(raw)
        except ValueError:
            return [], f"line {number}: not valid JSON"
        reason = _line_error(line, seen, lines[0]["body"].get("model") if lines else None)
        if reason is not None:
            return [], f"line {number}: {reason}"
        seen.add(line["custom_id"])
        lines.append(line)
    if not 0 < len(lines) <= MAX_LINES:
        return [], f"a batch file holds 1 to {MAX_LINES} requests, not {len(lines)}"
    return lines, None


def _step(batch: dict[str, Any], work: dict[str, Any], state: dict[str, Any]) -> None:
    """Validate the input (validating), or answer the next lines (in_progress)."""
    if batch["status"] == "validating":
        files = state.setdefault("files", {})
        work["lines"], reason = _parse(files[batch["input_file_id"]]["content"])
        if not work["keep_input"]:
            files.pop(batch["input_file_id"], None)
        if reason is not None:
            errors = {"object": "list", "data": [{"code": "1210", "message": reason, "line": None}]}
            batch.update(status="failed", failed_at=_now(), errors=errors)
            return
        batch["request_counts"]["total"] = len(work["lines"])
    else:
        step = state.get("lines_per_step") or len(work["lines"])
        todo, work["lines"] = work["lines"][:step], work["lines"][step:]
        for line in todo:
            status, body = state["answer"](line["body"])
            work["out"].append((status, line["custom_id"], body))
            batch["request_counts"]["completed" if status < 300 else "failed"] += 1
        if work["lines"]:
            return
    status = _STEP[batch["status"]]
    batch.update(status=status, **{f"{status}_at": _now()})


def _finish(batch: dict[str, Any], work: dict[str, Any], state: dict[str, Any], end: str) -> None:
    """Write the output and error files (answers in reverse order) and end the batch."""
    for key, ok in (("output_file_id", True), ("error_file_id", False)):
        rows = [
            dumps({"response": {"status_code": s, "body": b}, "custom_id": c, "id": batch["id"]})
            for s, c, b in reversed(work["out"])
            if (s < 300) is ok
        ]
        if rows:
            batch[key] = _store(state, b"\n".join(rows) + b"\n")
    batch.update(status=end, **{f"{end}_at": _now()})


def _chosen(state: dict[str, Any], batch_id: str | None) -> list[tuple[dict[str, Any], Any]]:
    ids = [batch_id] if batch_id else list(state.get("batches", {}))
    return [(state["batches"][bid], state["work"][bid]) for bid in ids]


def advance_batches(state: dict[str, Any], batch_id: str | None = None, steps: int = 1) -> None:
    """Move one batch (or every batch) ``steps`` statuses on; ended batches stay put.

    Args:
        state: The service's Batch API store, ``GLMService.batch_state``.
        batch_id: The batch, or ``None`` for all.
        steps: How many steps.
    """
    for _ in range(steps):
        for batch, work in _chosen(state, batch_id):
            if batch["status"] in _STEP:
                _step(batch, work, state)
            elif batch["status"] in _END:
                _finish(batch, work, state, _END[batch["status"]])


def expire_batches(state: dict[str, Any], batch_id: str | None = None) -> None:
    """End unfinished batches as ``expired``, keeping the answers given so far.

    Args:
        state: The service's Batch API store, ``GLMService.batch_state``.
        batch_id: The batch, or ``None`` for all.
    """
    for batch, work in _chosen(state, batch_id):
        if batch["status"] in _STEP or batch["status"] in _END:
            _finish(batch, work, state, "expired")


_ROUTES: dict[tuple[str, str, bool, str | None], Callable[..., Plan]] = {
    ("POST", "files", False, None): _upload,
    ("GET", "files", True, "content"): _content,
    ("DELETE", "files", True, None): _delete,
    ("POST", "batches", False, None): _create,
    ("GET", "batches", True, None): _get,
    ("POST", "batches", True, "cancel"): _cancel,
    ("GET", "batches", False, None): _list,
}


def handle(request: RecordedRequest, answer: Answer, state: dict[str, Any]) -> Plan:
    """Answer one authenticated ``/files`` or ``/batches`` request (``answer``: the scripting)."""
    state["answer"] = answer
    match = _ROUTE.search(request.path)
    kind, ident, action = match.groups() if match else ("", None, None)
    route = _ROUTES.get((request.method, kind, ident is not None, action))
    if route is None:
        message = f"API does not exist: {request.method} {request.path}"
        return _json(error_body("1222", message), 404)
    if ident is not None and ident not in state.get(kind, {}):
        return _json(error_body("1222", f"{kind.rstrip('s')} {ident} not found"), 404)
    return route(request, ident or "", state)
