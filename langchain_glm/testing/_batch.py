"""Pure emulation of GLM's Batch API (files and batches) for the test server; no I/O here.

Routes, as documented at https://docs.bigmodel.cn/cn/guide/tools/batch : multipart
``POST /files`` (``purpose=batch``), ``GET /files/{id}/content``, ``DELETE /files/{id}``,
``POST /batches``, ``GET /batches/{id}``, ``POST /batches/{id}/cancel``, ``GET /batches``.
A batch walks validating → in_progress → finalizing → completed (or failed / cancelling →
cancelled / expired). ``state`` (a dict the server owns) holds everything; its settings:
``state["auto_advance"]`` (default True: every ``GET /batches/{id}`` advances one step) and
``state["lines_per_step"]`` (default None: in_progress answers every line in one step).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

Answer = Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]
"""Answers one line's chat body: (HTTP status, JSON body), by the server's scripting."""
Response = tuple[int, dict[str, str], bytes]
ENDPOINT = "/v4/chat/completions"
MAX_LINES = 50_000
_ROUTE = re.compile(r"/(files|batches)(?:/([^/]+))?(?:/(content|cancel))?$")
_TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def _json(obj: Any, status: int = 200) -> Response:
    return status, {"Content-Type": "application/json; charset=UTF-8"}, _dumps(obj)


def _error(status: int, message: str, code: str = "1210") -> Response:
    return _json({"error": {"code": code, "message": message}}, status)


def _new_id(state: dict[str, Any], prefix: str) -> str:
    state["seq"] = state.get("seq", 0) + 1
    return f"{prefix}{1791490810192076800 + state['seq']}"  # the documented id shape


def _now() -> int:
    return int(time.time() * 1000)  # GLM's batch timestamps are milliseconds


def multipart_fields(content_type: str, body: bytes) -> dict[str, bytes]:
    """Split a ``multipart/form-data`` body into ``{field name: raw value}``."""
    found = re.search(r'boundary="?([^";]+)"?', content_type)
    if found is None:
        return {}
    fields: dict[str, bytes] = {}
    for part in body.split(b"--" + found.group(1).encode())[1:-1]:
        head, _, value = part.partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]*)"', head)
        if name is not None:
            fields[name.group(1).decode()] = value.removesuffix(b"\r\n")
    return fields


def _upload(request: Any, _: str, state: dict[str, Any]) -> Response:
    fields = multipart_fields(request.headers.get("content-type", ""), request.body)
    if fields.get("purpose") != b"batch" or "file" not in fields:
        return _error(400, "multipart form needs a `file` and purpose=batch")
    file_id = _new_id(state, "file_")
    obj = {"id": file_id, "object": "file", "bytes": len(fields["file"]), "purpose": "batch"}
    state.setdefault("files", {})[file_id] = {**obj, "content": fields["file"]}
    return _json({**obj, "created_at": _now(), "filename": "batch.jsonl"})


def _content(_: Any, file_id: str, state: dict[str, Any]) -> Response:
    return 200, {"Content-Type": "application/octet-stream"}, state["files"][file_id]["content"]


def _delete(_: Any, file_id: str, state: dict[str, Any]) -> Response:
    del state["files"][file_id]
    return _json({"id": file_id, "object": "file", "deleted": True})


def _create(request: Any, _: str, state: dict[str, Any]) -> Response:
    body = request.json if isinstance(request.json, dict) else {}
    if body.get("input_file_id") not in state.get("files", {}):
        return _error(400, f"input_file_id {body.get('input_file_id')!r} not found")
    if body.get("endpoint") != ENDPOINT:
        return _error(400, f"endpoint must be {ENDPOINT}")
    batch_id = _new_id(state, "batch_")
    counts = {"total": 0, "completed": 0, "failed": 0}
    batch: dict[str, Any] = {"id": batch_id, "object": "batch", "endpoint": ENDPOINT}
    batch.update(input_file_id=body["input_file_id"], completion_window="24h", errors=None)
    batch.update(status="validating", output_file_id=None, error_file_id=None)
    batch.update(created_at=_now(), request_counts=counts, metadata=body.get("metadata"))
    keep = body.get("auto_delete_input_file", True) is False
    state.setdefault("batches", {})[batch_id] = batch
    state.setdefault("work", {})[batch_id] = {"keep_input": keep, "lines": [], "out": []}
    return _json(batch)


def _get(_: Any, batch_id: str, state: dict[str, Any]) -> Response:
    if state.get("auto_advance", True):
        advance_batches(state, batch_id)
    return _json(state["batches"][batch_id])


def _cancel(_: Any, batch_id: str, state: dict[str, Any]) -> Response:
    batch = state["batches"][batch_id]
    if batch["status"] in ("validating", "in_progress", "finalizing"):
        batch.update(status="cancelling", cancelling_at=_now())
    return _json(batch)


def _list(request: Any, _: str, state: dict[str, Any]) -> Response:
    query = parse_qs(getattr(request, "query", ""))
    newest = sorted(state.get("batches", {}).values(), key=lambda b: b["id"], reverse=True)
    after = query.get("after", [None])[0]
    start = next((i + 1 for i, b in enumerate(newest) if b["id"] == after), 0)
    limit = int(query.get("limit", ["20"])[0])
    page = newest[start : start + limit]
    first, last = (page[0]["id"], page[-1]["id"]) if page else (None, None)
    more = start + limit < len(newest)
    return _json(
        {"object": "list", "data": page, "first_id": first, "last_id": last, "has_more": more}
    )


def _validate(content: bytes) -> tuple[list[dict[str, Any]], str | None]:
    """Parse an input file; returns its lines, or the first reason it does not validate."""
    lines: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, raw in enumerate(content.splitlines(), start=1):
        try:
            line = json.loads(raw)
        except ValueError:
            return [], f"line {number}: not valid JSON"
        if not isinstance(line, dict) or not isinstance(line.get("body"), dict):
            return [], f"line {number}: needs custom_id, method, url and a JSON body"
        if line.get("method") != "POST" or line.get("url") != ENDPOINT:
            return [], f"line {number}: method must be POST and url {ENDPOINT}"
        if line.get("custom_id") in seen or not isinstance(line.get("custom_id"), str):
            return [], f"line {number}: duplicate or missing custom_id {line.get('custom_id')!r}"
        if lines and line["body"].get("model") != lines[0]["body"].get("model"):
            return [], f"line {number}: a batch file must use one model"
        seen.add(line["custom_id"])
        lines.append(line)
    if not lines or len(lines) > MAX_LINES:
        return [], f"a batch file holds 1 to {MAX_LINES} requests, not {len(lines)}"
    return lines, None


def _start(batch: dict[str, Any], work: dict[str, Any], state: dict[str, Any]) -> None:
    """Start: validating → in_progress, or → failed with the reason in ``errors``."""
    files = state.setdefault("files", {})
    lines, reason = _validate(files[batch["input_file_id"]]["content"])
    if not work["keep_input"]:
        files.pop(batch["input_file_id"], None)
    if reason is not None:
        error = {"code": "1210", "message": reason, "line": None}
        batch.update(status="failed", failed_at=_now(), errors={"object": "list", "data": [error]})
        return
    work["lines"] = lines
    batch.update(status="in_progress", in_progress_at=_now())
    batch["request_counts"]["total"] = len(lines)


def _work(batch: dict[str, Any], work: dict[str, Any], state: dict[str, Any]) -> None:
    """Answer the next lines (all, or ``state["lines_per_step"]``) through the scripting."""
    step = state.get("lines_per_step") or len(work["lines"])
    todo, work["lines"] = work["lines"][:step], work["lines"][step:]
    for line in todo:
        status, body = state["answer"](line["body"])
        work["out"].append({"response": {"status_code": status, "body": body}, **line})
        batch["request_counts"]["completed" if status < 300 else "failed"] += 1
    if not work["lines"]:
        batch.update(status="finalizing", finalizing_at=_now())


def _finish(batch: dict[str, Any], work: dict[str, Any], state: dict[str, Any], end: str) -> None:
    """Write the output and error files (answers in reverse order) and end the batch."""
    for key, ok in (("output_file_id", True), ("error_file_id", False)):
        rows = [r for r in reversed(work["out"]) if (r["response"]["status_code"] < 300) is ok]
        if rows:
            file_id = _new_id(state, "file_")
            lines = [
                {"response": r["response"], "custom_id": r["custom_id"], "id": batch["id"]}
                for r in rows
            ]
            content = b"".join(_dumps(line) + b"\n" for line in lines)
            state["files"][file_id] = {"id": file_id, "object": "file", "content": content}
            batch[key] = file_id
    batch.update(status=end, **{f"{end}_at": _now()})


def advance_batches(state: dict[str, Any], batch_id: str | None = None, steps: int = 1) -> None:
    """Move one batch (or every batch) ``steps`` statuses on; terminal batches stay put.

    Args:
        state: The server's Batch API state.
        batch_id: The batch, or None for all.
        steps: How many steps.
    """
    for _ in range(steps):
        for bid in [batch_id] if batch_id else list(state.get("batches", {})):
            batch, work = state["batches"][bid], state["work"][bid]
            status = batch["status"]
            if status == "validating":
                _start(batch, work, state)
            elif status == "in_progress":
                _work(batch, work, state)
            elif status in ("finalizing", "cancelling"):
                _finish(batch, work, state, "completed" if status == "finalizing" else "cancelled")


def expire_batches(state: dict[str, Any], batch_id: str | None = None) -> None:
    """End unfinished batches as ``expired``, keeping the answers given so far.

    Args:
        state: The server's Batch API state.
        batch_id: The batch, or None for all.
    """
    for bid in [batch_id] if batch_id else list(state.get("batches", {})):
        batch = state["batches"][bid]
        if batch["status"] not in _TERMINAL:
            _finish(batch, state["work"][bid], state, "expired")


_ROUTES: dict[tuple[str, str, bool, str | None], Callable[..., Response]] = {
    ("POST", "files", False, None): _upload,
    ("GET", "files", True, "content"): _content,
    ("DELETE", "files", True, None): _delete,
    ("POST", "batches", False, None): _create,
    ("GET", "batches", True, None): _get,
    ("POST", "batches", True, "cancel"): _cancel,
    ("GET", "batches", False, None): _list,
}


def handle(request: Any, *, answer: Answer, state: dict[str, Any]) -> Response:
    """Answer one ``/files`` or ``/batches`` request.

    Args:
        request: The request (``method``, ``path``, ``headers``, ``body``, ``json``).
        answer: The server's scripting, called once per line when a batch runs.
        state: The server's Batch API store (a plain dict).

    Returns:
        (HTTP status, headers, body).
    """
    state["answer"] = answer
    match = _ROUTE.search(request.path)
    kind, ident, action = match.groups() if match else ("", None, None)
    route = _ROUTES.get((request.method, kind, ident is not None, action))
    if route is None:
        return _error(404, f"API does not exist: {request.method} {request.path}", "1222")
    if ident is not None and ident not in state.get(kind, {}):
        return _error(404, f"{kind.rstrip('s')} {ident} not found", "1222")
    return route(request, ident or "", state)
