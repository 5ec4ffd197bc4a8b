"""GLM's Batch API (https://docs.bigmodel.cn/cn/guide/tools/batch) as pure code; no I/O here.

A batch walks validating → in_progress → finalizing → completed (or failed, cancelled, expired),
one step per ``GET /batches/{id}``. ``state`` (``GLMService.batch_state``) holds the settings
``auto_advance`` (default True; False: only `advance_batches`, `expire_batches` move) and
``lines_per_step`` (default all: the lines answered per step), and the store: ``files`` (id →
the file object as ``GET /files`` lists it, plus its ``content``), ``batches`` (id → the batch
object as sent), ``work`` (id → ``keep_input``, the ``lines`` left, the ``ok`` and ``failed``
rows), ``seq`` (the last id number) and ``answer`` (the scripting, set by `handle`).
"""

from __future__ import annotations

import email.policy
import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from langchain_glm.testing._base import RecordedRequest, WireReply, dumps, error_body

ENDPOINT = "/v4/chat/completions"
MAX_LINES = 50_000
_ROUTE = re.compile(r"/(files|batches)(?:/([^/]+))?(?:/(content|cancel))?$")
_END = {"finalizing": "completed", "cancelling": "cancelled"}


def _now() -> int:
    return int(time.time() * 1000)  # GLM's batch timestamps are milliseconds


def _move(batch: dict[str, Any], status: str) -> None:
    batch.update(status=status, **{f"{status}_at": _now()})


def multipart_fields(content_type: str, body: bytes) -> dict[str, bytes]:
    """Split a ``multipart/form-data`` body into ``{field name: raw value}`` (stdlib `email`)."""
    return {name: value for name, (_, value) in multipart_parts(content_type, body).items()}


def multipart_parts(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """Split a ``multipart/form-data`` body into ``{field name: (filename or None, value)}``."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    parts = email.message_from_bytes(head + body, policy=email.policy.HTTP).iter_parts()
    named = ((p.get_param("name", header="content-disposition"), p) for p in parts)
    return {
        str(name): (part.get_filename(), bytes(part.get_payload(decode=True)))
        for name, part in named
    }


def _parse(content: bytes) -> tuple[list[dict[str, Any]], str | None]:
    """The lines of a batch input file, or none and the first reason GLM rejects it."""
    lines: dict[str, Any] = {}  # by custom_id, in file order
    for number, raw in enumerate(content.splitlines(), start=1):
        try:
            line = json.loads(raw)
        except ValueError:
            return [], f"line {number}: not valid JSON"
        if not isinstance(line, dict) or not isinstance(line.get("body"), dict):
            reason = "needs custom_id, method, url and a JSON body"
        elif (line.get("method"), line.get("url")) != ("POST", ENDPOINT):
            reason = f"method must be POST and url {ENDPOINT}"
        elif not isinstance(line.get("custom_id"), str) or line["custom_id"] in lines:
            reason = f"duplicate or missing custom_id {line.get('custom_id')!r}"
        elif line["body"].get("model") != next(iter(lines.values()), line)["body"].get("model"):
            reason = "a batch file must use one model"
        else:
            lines[line["custom_id"]] = line
            continue
        return [], f"line {number}: {reason}"
    if not 0 < len(lines) <= MAX_LINES:
        return [], f"a batch file holds 1 to {MAX_LINES} requests, not {len(lines)}"
    return list(lines.values()), None


def _metadata_ok(meta: Any) -> bool:
    """GLM's limits on a batch's `metadata`: <= 16 keys, keys <= 64, values <= 512 characters."""
    if meta is None:
        return True
    if not isinstance(meta, dict) or len(meta) > 16:
        return False
    return all(
        isinstance(k, str) and isinstance(v, str) and len(k) <= 64 and len(v) <= 512
        for k, v in meta.items()
    )


class _Batches:
    """The routes (``route_<method>_<path>``) and the status steps, over ``state``."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        self.files: dict[str, Any] = state.setdefault("files", {})
        self.batches: dict[str, Any] = state.setdefault("batches", {})
        self.work: dict[str, Any] = state.setdefault("work", {})

    def _add(self, table: dict[str, Any], prefix: str, item: dict[str, Any]) -> str:
        self.state["seq"] = self.state.get("seq", 0) + 1
        new_id = f"{prefix}{1791490810192076800 + self.state['seq']}"  # the documented shape
        table[new_id] = {"id": new_id} | item
        return new_id

    def route_post_files(self, request: RecordedRequest, _: str) -> Any:
        parts = multipart_parts(request.headers.get("content-type", ""), request.body)
        if parts.get("purpose", (None, b""))[1] != b"batch" or "file" not in parts:
            return 400, error_body("1210", "multipart form needs a `file` and purpose=batch")
        filename, content = parts["file"]
        return self._file(content, filename or "file")

    def _file(self, content: bytes, filename: str) -> dict[str, Any]:
        """Store a file; its file object (without the content), as GLM lists it."""
        obj = {"object": "file", "bytes": len(content), "created_at": _now()}
        file_id = self._add(self.files, "file_", obj | {"filename": filename, "purpose": "batch"})
        self.files[file_id]["content"] = content
        return self._public(file_id)

    def _public(self, file_id: str) -> dict[str, Any]:
        return {k: v for k, v in self.files[file_id].items() if k != "content"}

    def route_get_files(self, request: RecordedRequest, _: str) -> Any:
        """``GET /files?purpose=&limit=&after=``: newest first, `has_more`, no first/last id."""
        query = {key: values[0] for key, values in parse_qs(request.query).items()}
        purpose = query.get("purpose")
        ids = [i for i in sorted(self.files, reverse=True) if purpose in (None, "batch")]
        start = ids.index(query["after"]) + 1 if query.get("after") in ids else 0
        end = start + min(max(int(query.get("limit", "20")), 1), 100)
        page = [self._public(i) for i in ids[start:end]]
        return {"object": "list", "data": page, "has_more": end < len(ids)}

    def route_get_files_id_content(self, _: RecordedRequest, file_id: str) -> Any:
        return WireReply.of(200, self.files[file_id]["content"], "application/octet-stream")

    def route_delete_files_id(self, _: RecordedRequest, file_id: str) -> Any:
        del self.files[file_id]
        return {"id": file_id, "object": "file", "deleted": True}

    def route_post_batches(self, request: RecordedRequest, _: str) -> Any:
        body = request.json if isinstance(request.json, dict) else {}
        file_id = body.get("input_file_id")
        if file_id not in self.files or body.get("endpoint") != ENDPOINT:
            reason = f"needs an uploaded input_file_id (not {file_id!r}) and endpoint {ENDPOINT}"
            return 400, error_body("1210", reason)
        if not _metadata_ok(body.get("metadata")):
            reason = "metadata takes up to 16 string keys of <= 64 and values of <= 512 characters"
            return 400, error_body("1210", reason)
        batch = {"object": "batch", "endpoint": ENDPOINT, "input_file_id": file_id}
        batch |= {"completion_window": "24h", "errors": None, "status": "validating"}
        batch |= {"output_file_id": None, "error_file_id": None, "created_at": _now()}
        batch |= {"request_counts": {"total": 0, "completed": 0, "failed": 0}}
        batch_id = self._add(self.batches, "batch_", batch | {"metadata": body.get("metadata")})
        keep = body.get("auto_delete_input_file", True) is False
        self.work[batch_id] = {"keep_input": keep, "lines": [], "ok": [], "failed": []}
        return self.batches[batch_id]

    def route_get_batches_id(self, _: RecordedRequest, batch_id: str) -> Any:
        if self.state.get("auto_advance", True):
            self.advance(batch_id)
        return self.batches[batch_id]

    def route_post_batches_id_cancel(self, _: RecordedRequest, batch_id: str) -> Any:
        batch = self.batches[batch_id]
        if batch["status"] in ("validating", "in_progress", "finalizing"):
            _move(batch, "cancelling")
        return batch

    def route_get_batches(self, request: RecordedRequest, _: str) -> Any:
        query = {key: values[0] for key, values in parse_qs(request.query).items()}
        ids = sorted(self.batches, reverse=True)  # newest first
        start = ids.index(query["after"]) + 1 if query.get("after") in ids else 0
        end = start + int(query.get("limit", "20"))
        page = ids[start:end]
        edges: list[str | None] = list(page) or [None]
        listed = {"object": "list", "data": [self.batches[i] for i in page]}
        return listed | {"first_id": edges[0], "last_id": edges[-1], "has_more": end < len(ids)}

    def advance(self, batch_id: str | None, expire: bool = False) -> None:
        """Move one batch (or all) a status on; ``expire`` ends unfinished ones as expired."""
        for batch in [self.batches[batch_id]] if batch_id else list(self.batches.values()):
            work = self.work[batch["id"]]
            status = batch["status"]
            if status in _END or (expire and status in ("validating", "in_progress")):
                self._finish(batch, work, "expired" if expire else _END[status])
            elif status == "validating":
                self._validate(batch, work)
            elif status == "in_progress":
                self._answer(batch, work)

    def _validate(self, batch: dict[str, Any], work: dict[str, Any]) -> None:
        work["lines"], reason = _parse(self.files[batch["input_file_id"]]["content"])
        if not work["keep_input"]:
            self.files.pop(batch["input_file_id"], None)
        if reason is None:
            batch["request_counts"]["total"] = len(work["lines"])
            _move(batch, "in_progress")
        else:
            error = {"code": "1210", "message": reason, "line": None}
            batch["errors"] = {"object": "list", "data": [error]}
            _move(batch, "failed")

    def _answer(self, batch: dict[str, Any], work: dict[str, Any]) -> None:
        per_step = self.state.get("lines_per_step") or len(work["lines"])
        for line in work["lines"][:per_step]:
            status, body = self.state["answer"](line["body"])
            response = {"status_code": status, "body": body}
            row = {"response": response, "custom_id": line["custom_id"], "id": batch["id"]}
            work["ok" if status < 300 else "failed"].append(row)
        del work["lines"][:per_step]
        batch["request_counts"].update(completed=len(work["ok"]), failed=len(work["failed"]))
        if not work["lines"]:
            _move(batch, "finalizing")

    def _finish(self, batch: dict[str, Any], work: dict[str, Any], end: str) -> None:
        for key, rows in (("output_file_id", work["ok"]), ("error_file_id", work["failed"])):
            if rows:  # newest answer first, as GLM writes them
                content = b"".join(dumps(row) + b"\n" for row in reversed(rows))
                name = f"{batch['id']}_{key.removesuffix('_file_id')}.jsonl"
                batch[key] = self._file(content, name)["id"]
        _move(batch, end)


def advance_batches(state: dict[str, Any], batch_id: str | None = None, steps: int = 1) -> None:
    """Move one batch (or every batch) ``steps`` statuses on; ended batches stay put."""
    for _ in range(steps):
        _Batches(state).advance(batch_id)


def expire_batches(state: dict[str, Any], batch_id: str | None = None) -> None:
    """End unfinished batches as ``expired``, keeping the answers given so far."""
    _Batches(state).advance(batch_id, expire=True)


def handle(
    request: RecordedRequest, answer: Callable[..., Any], state: dict[str, Any]
) -> WireReply:
    """Answer one authenticated ``/files`` or ``/batches`` request (``answer``: the scripting)."""
    state["answer"] = answer
    match = _ROUTE.search(request.path)
    kind, ident, action = match.groups() if match else ("", None, None)
    name = "_".join(part for part in (request.method, kind, ident and "id", action) if part)
    route = getattr(_Batches(state), f"route_{name.lower()}", None)  # e.g. route_get_batches_id
    if route is None:
        result = 404, error_body("1222", f"API does not exist: {request.method} {request.path}")
    elif ident is not None and ident not in state[kind]:
        noun = "file" if kind == "files" else "batch"
        result = 404, error_body("1222", f"{noun} {ident} not found")
    else:
        result = route(request, ident or "")
    if isinstance(result, WireReply):
        return result
    status, body = result if isinstance(result, tuple) else (200, result)
    return WireReply.of(status, body)
