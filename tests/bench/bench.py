"""The project's benchmark: ChatGLM against the raw httpx floor and our LangChain-core floor.

    make bench                     # or: .venv/bin/python -m tests.bench.bench [--quick]

Each client and phase runs in its own process against a fast loopback GLM server
(`tests.bench.server`, its own process too), rounds rotate the client order, and ratios
are taken inside a round, then the median over rounds is printed (compare ratios, not
absolute times: machines are noisy). Phases: (a) invoke latency, (b) stream cost per
chunk, (c) concurrent `astream` wall time and (d) the peak RSS of that process, (e) memory
and time of one long stream, (f) import time. Peers (langchain-openai's ChatOpenAI) are
measured when installed.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import importlib.util
import json
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

CLIENTS = ["raw-floor", "core-floor", "ChatGLM", "ChatOpenAI"]
ME = [sys.executable, "-m", "tests.bench.bench"]


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make(name: str, base_url: str) -> Any:
    """The client under test (a LangChain chat model, or the raw floor)."""
    if name == "raw-floor":
        return RawFloor(base_url)
    if name == "core-floor":
        from tests.bench.core_floor import CoreFloor

        return CoreFloor(base_url=base_url)
    if name == "ChatGLM":
        from langchain_glm import ChatGLM

        return ChatGLM(base_url=base_url, api_key="bench-key-123", model="glm-4.6")
    from langchain_openai import ChatOpenAI  # type: ignore[import-not-found, unused-ignore]

    return ChatOpenAI(base_url=base_url, api_key="bench-key-123", model="glm-4.6")


class RawFloor:
    """httpx + httpx-sse + json.loads, no LangChain: the physical limit of this stack."""

    def __init__(self, base_url: str) -> None:
        import httpx

        self.url = base_url + "/chat/completions"
        self.headers = {"Authorization": "Bearer bench-key-123"}
        self.sync = httpx.Client(timeout=60, headers=self.headers)
        self.limits = httpx.Limits(max_connections=1000)
        self.aclient: Any = None

    def invoke(self, prompt: str) -> Any:
        body = {"model": "glm-4.6", "messages": [{"role": "user", "content": prompt}]}
        return json.loads(self.sync.post(self.url, json=body).content)

    def stream(self, prompt: str) -> Any:
        from httpx_sse import connect_sse

        body = {
            "model": "glm-4.6",
            "messages": [{"role": "user", "content": prompt}],
            "stream": True,
        }
        with connect_sse(self.sync, "POST", self.url, json=body) as events:
            for sse in events.iter_sse():
                if sse.data == "[DONE]":
                    return
                yield json.loads(sse.data)

    async def astream(self, prompt: str) -> Any:
        import httpx
        from httpx_sse import aconnect_sse

        self.aclient = self.aclient or httpx.AsyncClient(
            timeout=60, limits=self.limits, headers=self.headers
        )
        body = {
            "model": "glm-4.6",
            "messages": [{"role": "user", "content": prompt}],
            "stream": True,
        }
        async with aconnect_sse(self.aclient, "POST", self.url, json=body) as events:
            async for sse in events.aiter_sse():
                if sse.data == "[DONE]":
                    return
                yield json.loads(sse.data)


def worker(name: str, phase: str, base_url: str, opts: dict[str, int]) -> dict[str, float]:
    """Run one phase for one client in this process and return its figures."""
    client = make(name, base_url)
    sum(1 for _ in client.stream("chunks=50"))  # warm up: imports, pools, connection
    if phase == "invoke":
        times = []
        for _ in range(10):  # warm up the non-stream path
            client.invoke("chunks=4")
        for _ in range(opts["invokes"]):
            start = time.perf_counter()
            client.invoke("chunks=4")
            times.append(time.perf_counter() - start)
        return {"invoke_us": statistics.median(times) * 1e6}
    if phase == "stream":
        costs = []
        for _ in range(3):
            start = time.perf_counter()
            count = sum(1 for _ in client.stream(f"chunks={opts['chunks']}"))
            costs.append((time.perf_counter() - start) / count * 1e6)
        return {"us_per_chunk": statistics.median(costs)}
    if phase == "conc":
        return _concurrent(client, opts)
    before, start = _rss_mb(), time.perf_counter()
    sum(1 for _ in client.stream(f"chunks={opts['long']}"))
    long_s = time.perf_counter() - start
    kept = _peak_mb() - before
    start = time.perf_counter()
    sum(1 for _ in client.stream(f"chunks={opts['chunks']}"))
    return {"long_kept_mb": kept, "long_vs_short": long_s / (time.perf_counter() - start)}


def _concurrent(client: Any, opts: dict[str, int]) -> dict[str, float]:
    prompt = f"chunks={opts['conc_chunks']},burst=20,interval=5"  # 20 frames every 5 ms

    async def one() -> int:
        return sum([1 async for _ in client.astream(prompt)])

    async def run() -> None:
        await asyncio.gather(*[one() for _ in range(opts["conc"])])

    start = time.perf_counter()
    asyncio.run(run())
    return {"conc_wall_s": time.perf_counter() - start, "peak_rss_mb": _peak_mb()}


IMPORTS = ("from langchain_glm import ChatGLM", "import langchain_core.language_models.chat_models")


def import_times(runs: int) -> list[tuple[float, float]]:
    """CPU seconds of each statement in `IMPORTS`, each in a fresh interpreter, `runs` pairs.

    The pairs alternate their order. Our modules are byte-compiled first, as installing a
    wheel does (langchain-core's already are), so no run pays for compiling source. CPU
    time, not wall time: the machine is shared, and waiting for a core is not import cost.
    """
    compileall.compile_dir("langchain_glm", quiet=1)
    code = "import time; t = time.process_time(); {}; print(time.process_time() - t)"

    def once(statement: str) -> float:
        command = [sys.executable, "-c", code.format(statement)]
        return float(subprocess.check_output(command, text=True))  # noqa: S603

    pairs = []
    for number in range(runs):
        ours, core = (once(s) for s in (IMPORTS if number % 2 else IMPORTS[::-1]))
        pairs.append((ours, core) if number % 2 else (core, ours))
    return pairs


def measure(clients: list[str], base_url: str, opts: dict[str, int], rounds: int) -> list[Any]:
    """Every phase for every client, in its own process, rotating the order per round."""
    results: list[dict[str, dict[str, float]]] = []
    for number in range(rounds):
        order = clients[number % len(clients) :] + clients[: number % len(clients)]
        row: dict[str, dict[str, float]] = {name: {} for name in clients}
        for phase in ("invoke", "stream", "conc", "long"):
            for name in order:
                args = [*ME, "--worker", name, phase, base_url, json.dumps(opts)]
                out = subprocess.run(args, capture_output=True, text=True, check=True)  # noqa: S603
                row[name].update(json.loads(out.stdout.splitlines()[-1]))
        results.append(row)
    return results


def report(results: list[Any], clients: list[str]) -> None:
    """Print the median of per-round ratios to core-floor (and raw values)."""
    keys = [
        "invoke_us",
        "us_per_chunk",
        "conc_wall_s",
        "peak_rss_mb",
        "long_kept_mb",
        "long_vs_short",
    ]
    print("| client | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for name in clients:
        cells = []
        for key in keys:
            value = statistics.median(r[name][key] for r in results)
            ratio = statistics.median(r[name][key] / r["core-floor"][key] for r in results)
            cells.append(f"{value:,.1f} ({ratio:.2f}x)")
        print(f"| {name} | " + " | ".join(cells) + " |")


def main() -> None:
    """Parse arguments, start the server, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="1 round, smaller sizes")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        name, phase, base_url, opts = args.worker
        return print(json.dumps(worker(name, phase, base_url, json.loads(opts))))
    opts = {"invokes": 100, "chunks": 5000, "conc": 200, "conc_chunks": 200, "long": 100_000}
    if args.quick:
        opts = {"invokes": 30, "chunks": 2000, "conc": 50, "conc_chunks": 100, "long": 20_000}
    clients = [
        c for c in CLIENTS if c != "ChatOpenAI" or importlib.util.find_spec("langchain_openai")
    ]
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True}
    server = subprocess.Popen([sys.executable, "-m", "tests.bench.server"], **pipes)  # type: ignore[call-overload]
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        results = measure(clients, base_url, opts, 1 if args.quick else args.rounds)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"sizes: {opts}; medians over rounds, (ratio to core-floor within each round)")
    report(results, clients)
    pairs = import_times(10 if args.quick else 20)
    ours, core = (statistics.median(p[i] for p in pairs) * 1000 for i in (0, 1))
    ratio = statistics.median(o / c for o, c in pairs)
    print(f"import, CPU ms (median of {len(pairs)}): ChatGLM {ours:.0f}, core {core:.0f}")
    print(f"import ratio (median of per-pair ratios): {ratio:.3f}x")
    return None


if __name__ == "__main__":
    main()
