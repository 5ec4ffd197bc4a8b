"""Measure the client's peak RSS while reading a large Batch API output file (not a test).

Run: `.venv/bin/python -m tests.hostile.batch_memory [megabytes]` (default 200). A child
process serves `GET batches/batch_1` and a generated output file of that size (50,000-line
batches of ~4 KB answers, made as they are sent, never held whole) on 127.0.0.1; this process
reads it with `BatchJob.iter_results` (one line held at a time) and prints its peak RSS, then
with `BatchJob.results` (which keeps every message, so its peak grows with the answers).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys

from tests.hostile import batch_server as b
from tests.hostile import server as s

LINE_BYTES = 4096


def _lines(total_bytes: int) -> tuple[int, int]:
    """(number of lines, bytes of filler text per answer)."""
    sample = json.dumps(b.line(b.cid(0), b.answer(""))).encode()
    count = max(1, total_bytes // LINE_BYTES)
    return count, LINE_BYTES - len(sample) - 1


def _serve(total_bytes: int) -> None:
    count, filler = _lines(total_bytes)
    size = count * LINE_BYTES

    async def output(w: s.Writer, raw: bytes) -> bool:
        w.write(s.head(200, {"Content-Type": "application/jsonl", "Content-Length": str(size)}))
        for i in range(count):
            text = (f"answer {i} " + "x" * filler)[:filler]
            w.write(json.dumps(b.line(b.cid(i), b.answer(text))).encode() + b"\n")
            if i % 64 == 0:
                await w.drain()
        await w.drain()
        return True

    routes = b.Routes()
    routes.on("GET batches/batch_1", b.batch(count=count))
    routes.on("GET files/file_out/content", output)
    with s.HostileServer() as server:
        server.default = routes
        print(server.base_url, count, flush=True)
        sys.stdin.read()  # until the parent closes our stdin


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(megabytes: int) -> None:
    from langchain_glm import ChatGLM

    child = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "tests.hostile.batch_memory", "--serve", str(megabytes)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        base_url, count = child.stdout.readline().split()
        llm = ChatGLM(model="glm-4.6", base_url=base_url, api_key="measure-key-0123456789")
        before = _peak_mib()
        job = llm.batch_retrieve("batch_1")
        seen = sum(1 for _, item in job.iter_results() if not isinstance(item, Exception))
        streamed = _peak_mib()
        print(f"{megabytes} MB file, {count} lines: iter_results read {seen} answers;")
        print(f"  peak RSS {streamed:.1f} MiB (at start {before:.1f} MiB)")
        kept = job.results(keep_files=True)
        print(f"  results() kept {len(kept)} messages; peak RSS then {_peak_mib():.1f} MiB")
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(30)


if __name__ == "__main__":
    sizes = [int(a) for a in sys.argv[1:] if a.isdigit()] or [200]
    if "--serve" in sys.argv:
        _serve(sizes[0] * 1_000_000)
    else:
        main(sizes[0])
