"""GLM's Batch API (https://docs.bigmodel.cn/cn/guide/tools/batch) as pure code; no I/O here.

``state`` (``GLMService.batch_state``) holds files and batches. A batch walks validating →
in_progress → finalizing → completed (or failed, cancelled, expired): one step per
``GET /batches/{id}`` unless ``state["auto_advance"]`` is False; ``state["lines_per_step"]``
(default all) bounds the lines answered per step.
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

from langchain_glm.testing._service import Plan, RecordedRequest, dumps, error_body

ENDPOINT, MAX_LINES = "/v4/chat/completions", 50_000
_ROUTE = re.compile(r"/(files|batches)(?:/([^/]+))?(?:/(content|cancel))?$")
_STEP = {"validating": "in_progress", "in_progress": "finalizing"}
_END = {"finalizing": "completed", "cancelling": "cancelled"}
_ONE = {"files": "file", "batches": "batch"}  # routes with an id name a method in the singular


def _now() -> int:
    return int(time.time() * 1000)  # GLM's batch timestamps are milliseconds


def multipart_fields(content_type: str, body: bytes) -> dict[str, bytes]:
    """Split a ``multipart/form-data`` body into ``{field name: raw value}`` (stdlib `email`)."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(EmailMessage, policy=HTTP).parsebytes(head + body)
    named = ((p.get_param("name", header="content-disposition"), p) for p in message.iter_parts())
    return {str(name): bytes(part.get_payload(decode=True)) for name, part in named}


def _line_error(line: Any, seen: set[str], model: Any) -> str | None:
    if not isinstance(line, dict) or not isinstance(line.get("body"), dict):
        return "needs custom_id, method, url and a JSON body"
    if (line.get("method"), line.get("url")) != ("POST", ENDPOINT):
        return f"method must be POST and url {ENDPOINT}"
    if not isinstance(line.get("custom_id"), str) or line["custom_id"] in seen:
        return f"duplicate or missing custom_id {line.get('custom_id')!r}"
    one_model = not seen or line["body"].get("model") == model
    return None if one_model else "a batch file must use one model"


def _parse(content: bytes) -> tuple[list[dict[str, Any]], str | None]:
    lines: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, raw in enumerate(content.splitlines(), start=1):
        try:
            line = json.loads(raw)
        except ValueError:
            return [], f"line {number}: not valid JSON"
        if reason := _line_error(line, seen, lines[0]["body"].get("model") if lines else None):
            return [], f"line {number}: {reason}"
        seen.add(line["custom_id"])
        lines.append(line)
    if not 0 < len(lines) <= MAX_LINES:
        return [], f"a batch file holds 1 to {MAX_LINES} requests, not {len(lines)}"
    return lines, None


class _Batches:
    def __init__(self, state: dict[str, Any]) -> None:
        self.state, self.files = state, state.setdefault("files", {})
        self.batches, self.work = state.setdefault("batches", {}), state.setdefault("work", {})

    def _new_id(self, prefix: str) -> str:
        self.state["seq"] = self.state.get("seq", 0) + 1
        return f"{prefix}{1791490810192076800 + self.state['seq']}"  # the documented id shape

    def _store(self, content: bytes) -> str:
        file_id = self._new_id("file_")
        self.files[file_id] = {"id": file_id, "content": content}
        return file_id

    def post_files(self, request: RecordedRequest, _: str) -> Any:
        fields = multipart_fields(request.headers.get("content-type", ""), request.body)
        if fields.get("purpose") != b"batch" or "file" not in fields:
            return 400, error_body("1210", "multipart form needs a `file` and purpose=batch")
        obj = {"id": self._store(fields["file"]), "object": "file", "bytes": len(fields["file"])}
        return {**obj, "purpose": "batch", "created_at": _now(), "filename": "batch.jsonl"}

    def get_file_content(self, _: RecordedRequest, file_id: str) -> Any:
        return Plan.of(200, self.files[file_id]["content"], "application/octet-stream")

    def delete_file(self, _: RecordedRequest, file_id: str) -> Any:
        del self.files[file_id]
        return {"id": file_id, "object": "file", "deleted": True}

    def post_batches(self, request: RecordedRequest, _: str) -> Any:
        body = request.json if isinstance(request.json, dict) else {}
        file_id = body.get("input_file_id")
        if file_id not in self.files or body.get("endpoint") != ENDPOINT:
            reason = f"needs an uploaded input_file_id (not {file_id!r}) and endpoint {ENDPOINT}"
            return 400, error_body("1210", reason)
        batch_id, counts = self._new_id("batch_"), {"total": 0, "completed": 0, "failed": 0}
        batch = {"id": batch_id, "object": "batch", "endpoint": ENDPOINT, "input_file_id": file_id}
        batch |= {"completion_window": "24h", "errors": None, "status": "validating"}
        batch |= {"output_file_id": None, "error_file_id": None, "created_at": _now()}
        batch |= {"request_counts": counts, "metadata": body.get("metadata")}
        self.batches[batch_id] = batch
        keep = body.get("auto_delete_input_file", True) is False
        self.work[batch_id] = {"keep_input": keep, "lines": [], "out": []}
        return self.batches[batch_id]

    def get_batch(self, _: RecordedRequest, batch_id: str) -> Any:
        if self.state.get("auto_advance", True):
            self.advance([batch_id])
        return self.batches[batch_id]

    def post_batch_cancel(self, _: RecordedRequest, batch_id: str) -> Any:
        batch = self.batches[batch_id]
        if batch["status"] in ("validating", "in_progress", "finalizing"):
            batch.update(status="cancelling", cancelling_at=_now())
        return batch

    def get_batches(self, request: RecordedRequest, _: str) -> Any:
        query = {key: values[0] for key, values in parse_qs(request.query).items()}
        newest = sorted(self.batches.values(), key=lambda b: b["id"], reverse=True)
        start = next((i + 1 for i, b in enumerate(newest) if b["id"] == query.get("after")), 0)
        end = start + int(query.get("limit", "20"))
        page, ids = newest[start:end], [b["id"] for b in newest[start:end]] or [None]
        listed = {"object": "list", "data": page, "first_id": ids[0], "last_id": ids[-1]}
        return listed | {"has_more": end < len(newest)}

    def _step(self, batch: dict[str, Any], work: dict[str, Any]) -> None:
        if batch["status"] == "validating":
            work["lines"], reason = _parse(self.files[batch["input_file_id"]]["content"])
            if not work["keep_input"]:
                self.files.pop(batch["input_file_id"], None)
            if reason is not None:
                error = {"code": "1210", "message": reason, "line": None}
                errors = {"object": "list", "data": [error]}
                batch.update(status="failed", failed_at=_now(), errors=errors)
                return
            batch["request_counts"]["total"] = len(work["lines"])
        else:
            step = self.state.get("lines_per_step") or len(work["lines"])
            todo, work["lines"] = work["lines"][:step], work["lines"][step:]
            for line in todo:
                status, body = self.state["answer"](line["body"])
                row = {"response": {"status_code": status, "body": body}}
                work["out"].append(
                    (status, row | {"custom_id": line["custom_id"], "id": batch["id"]})
                )
                batch["request_counts"]["completed" if status < 300 else "failed"] += 1
            if work["lines"]:
                return
        status = _STEP[batch["status"]]
        batch.update(status=status, **{f"{status}_at": _now()})

    def _finish(self, batch: dict[str, Any], work: dict[str, Any], end: str) -> None:
        for key, ok in (("output_file_id", True), ("error_file_id", False)):
            rows = [dumps(row) for status, row in reversed(work["out"]) if (status < 300) is ok]
            if rows:
                batch[key] = self._store(b"\n".join(rows) + b"\n")
        batch.update(status=end, **{f"{end}_at": _now()})

    def advance(self, ids: Any, expire: bool = False) -> None:
        for batch_id in ids or list(self.batches):
            batch, work = self.batches[batch_id], self.work[batch_id]
            if batch["status"] in _STEP and not expire:
                self._step(batch, work)
            elif batch["status"] in _END or batch["status"] in _STEP:
                self._finish(batch, work, "expired" if expire else _END[batch["status"]])


def advance_batches(state: dict[str, Any], batch_id: str | None = None, steps: int = 1) -> None:
    """Move one batch (or every batch) ``steps`` statuses on; ended batches stay put."""
    for _ in range(steps):
        _Batches(state).advance([batch_id] if batch_id else None)


def expire_batches(state: dict[str, Any], batch_id: str | None = None) -> None:
    """End unfinished batches as ``expired``, keeping the answers given so far."""
    _Batches(state).advance([batch_id] if batch_id else None, expire=True)


def handle(request: RecordedRequest, answer: Callable[..., Any], state: dict[str, Any]) -> Plan:
    """Answer one authenticated ``/files`` or ``/batches`` request (``answer``: the scripting)."""
    state["answer"], batches = answer, _Batches(state)
    match = _ROUTE.search(request.path)
    kind, ident, action = match.groups() if match else ("", None, None)
    name = f"{request.method}_{_ONE.get(kind, kind) if ident else kind}_{action or ''}"
    route = getattr(batches, name.lower().rstrip("_"), None)  # e.g. post_batch_cancel
    if route is None:
        result = 404, error_body("1222", f"API does not exist: {request.method} {request.path}")
    elif ident is not None and ident not in state[kind]:
        result = 404, error_body("1222", f"{kind.rstrip('s')} {ident} not found")
    else:
        result = route(request, ident or "")
    if isinstance(result, Plan):
        return result
    status, obj = result if isinstance(result, tuple) else (200, result)
    return Plan.of(status, obj)
