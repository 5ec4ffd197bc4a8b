"""The project's benchmark: ChatGLM against our copy of the LangChain-core floor.

    make bench        # runtime-only venv for the import figure, then 8 rounds (4-6 min)
    .venv/bin/python -m tests.bench.bench --quick      # 2 short rounds, a smoke test

Each client and phase runs in its own process against a fast loopback GLM server
(`tests.bench.server`, its own process too). ChatGLM and the floor alternate: the order
flips every round. Ratios are taken inside a round, and the median over rounds is printed
with its range. Every phase reports CPU time of the client process (`time.process_time`)
beside wall time: on a shared machine CPU time is the robust figure. Phases: invoke
latency and stream cost per chunk; 200 concurrent `astream` calls (wall, CPU, peak RSS);
one 100,000-chunk stream (memory kept, CPU); then import time, pairs of fresh
interpreters. `--clients raw-floor,core-floor,ChatGLM[,ChatOpenAI]` adds the raw httpx
floor and peers. tests/bench/README.md has the figures and how they were taken.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import json
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

CLIENTS = ["raw-floor", "core-floor", "ChatGLM", "ChatOpenAI"]
"""Clients `--clients` may name (ChatOpenAI needs `langchain-openai`, not a dependency)."""
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


def _timed(fn: Any) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def worker(name: str, phase: str, base_url: str, opts: dict[str, int]) -> dict[str, float]:
    """Run one phase for one client in this process and return its figures.

    Wall time beside CPU time (`time.process_time`, this process only: the server runs in
    its own), since waiting for a core that another job holds is not the client's cost.
    """
    client = make(name, base_url)
    sum(1 for _ in client.stream("chunks=50"))  # warm up: imports, pools, connection
    if phase == "calls":
        return _calls(client, opts)
    if phase == "conc":
        return _concurrent(client, opts)
    before = _rss_mb()
    wall, cpu = _timed(lambda: sum(1 for _ in client.stream(f"chunks={opts['long']}")))
    kept = _peak_mb() - before
    short, _ = _timed(lambda: sum(1 for _ in client.stream(f"chunks={opts['chunks']}")))
    return {"long_kept_mb": kept, "long_cpu_s": cpu, "long_vs_short": wall / short}


def _calls(client: Any, opts: dict[str, int]) -> dict[str, float]:
    """Invoke latency, then the cost per chunk of a long stream (medians, wall and CPU)."""
    for _ in range(10):  # warm up the non-stream path
        client.invoke("chunks=4")
    calls = [_timed(lambda: client.invoke("chunks=4")) for _ in range(opts["invokes"])]
    chunks = opts["chunks"]
    streams = [_timed(lambda: sum(1 for _ in client.stream(f"chunks={chunks}"))) for _ in range(5)]
    return {
        "invoke_us": statistics.median(w for w, _ in calls) * 1e6,
        "invoke_cpu_us": statistics.median(c for _, c in calls) * 1e6,
        "us_per_chunk": statistics.median(w for w, _ in streams) / chunks * 1e6,
        "cpu_us_per_chunk": statistics.median(c for _, c in streams) / chunks * 1e6,
    }


def _concurrent(client: Any, opts: dict[str, int]) -> dict[str, float]:
    prompt = f"chunks={opts['conc_chunks']},burst=20,interval=5"  # 20 frames every 5 ms

    async def one() -> int:
        return sum([1 async for _ in client.astream(prompt)])

    async def run() -> None:
        await asyncio.gather(*[one() for _ in range(opts["conc"])])

    wall, cpu = _timed(lambda: asyncio.run(run()))
    return {"conc_wall_s": wall, "conc_cpu_s": cpu, "peak_rss_mb": _peak_mb()}


IMPORTS = ("from langchain_glm import ChatGLM", "import langchain_core.language_models.chat_models")


def import_times(runs: int, python: str) -> list[tuple[float, float]]:
    """CPU seconds of each statement in `IMPORTS`, each in a fresh `python`, `runs` pairs.

    The pairs alternate their order. Byte-compiled modules only (a wheel install compiles
    them; `make bench` installs the package so into a runtime-only venv), so no run pays
    for compiling source. CPU time, not wall time: the machine is shared, and waiting for a
    core is not import cost.
    """
    if python == sys.executable:
        compileall.compile_dir("langchain_glm", quiet=1)
    code = "import time; t = time.process_time(); {}; print(time.process_time() - t)"

    def once(statement: str) -> float:
        command = [python, "-c", code.format(statement)]
        return float(subprocess.check_output(command, text=True))  # noqa: S603

    pairs = []
    for number in range(runs):
        ours, core = (once(s) for s in (IMPORTS if number % 2 else IMPORTS[::-1]))
        pairs.append((ours, core) if number % 2 else (core, ours))
    return pairs


PHASES = ("calls", "conc", "long")
KEYS = {
    "invoke_us": "invoke, wall µs",
    "invoke_cpu_us": "invoke, CPU µs",
    "us_per_chunk": "stream, wall µs/chunk",
    "cpu_us_per_chunk": "stream, CPU µs/chunk",
    "conc_wall_s": "concurrent astream, wall s",
    "conc_cpu_s": "concurrent astream, CPU s",
    "peak_rss_mb": "concurrent astream, peak RSS MB",
    "long_kept_mb": "long stream, MB kept",
    "long_cpu_s": "long stream, CPU s",
    "long_vs_short": "long vs short stream time",
}
TARGETS = {
    "cpu_us_per_chunk": 0.70,
    "us_per_chunk": 0.70,
    "conc_wall_s": 0.80,
    "peak_rss_mb": 0.60,
    "invoke_cpu_us": 0.95,
    "invoke_us": 0.95,
    "long_kept_mb": 0.50,
}
"""Bars of ChatGLM / core-floor per figure; import time has its own (1.05x)."""


def measure(clients: list[str], base_url: str, opts: dict[str, int], rounds: int) -> list[Any]:
    """Every phase for every client, each in its own process; the order flips every round."""
    results: list[dict[str, dict[str, float]]] = []
    for number in range(rounds):
        order = clients if number % 2 == 0 else clients[::-1]
        row: dict[str, dict[str, float]] = {name: {} for name in clients}
        for phase in PHASES:
            for name in order:
                args = [*ME, "--worker", name, phase, base_url, json.dumps(opts)]
                out = subprocess.run(args, capture_output=True, text=True, check=True)  # noqa: S603
                row[name].update(json.loads(out.stdout.splitlines()[-1]))
        results.append(row)
        print(f"round {number + 1}/{rounds} done", file=sys.stderr, flush=True)
    return results


def report(results: list[Any], clients: list[str]) -> None:
    """Print medians of raw figures and of per-round ratios to core-floor, with their range."""
    names = [name for name in clients if name != "core-floor"]
    print("| figure | core-floor | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 2) + "|")
    for key, label in KEYS.items():
        floor = statistics.median(r["core-floor"][key] for r in results)
        cells = [f"{floor:,.2f}"]
        for name in names:
            value = statistics.median(r[name][key] for r in results)
            ratios = [r[name][key] / r["core-floor"][key] for r in results]
            bar = f", bar {TARGETS[key]:.2f}x" if key in TARGETS and name == "ChatGLM" else ""
            cells.append(
                f"{value:,.2f}: **{statistics.median(ratios):.2f}x** "
                f"(rounds {min(ratios):.2f}-{max(ratios):.2f}{bar})"
            )
        print(f"| {label} | " + " | ".join(cells) + " |")


def main() -> None:
    """Parse arguments, start the server, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="2 rounds, smaller sizes")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--imports", type=int, default=30, help="pairs of import runs")
    parser.add_argument(
        "--clients", default="core-floor,ChatGLM", help=f"comma-separated, of {CLIENTS}"
    )
    parser.add_argument(
        "--import-python",
        default=sys.executable,
        help="interpreter of a runtime-only venv for the import figure (`make bench` makes one)",
    )
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        name, phase, base_url, opts = args.worker
        return print(json.dumps(worker(name, phase, base_url, json.loads(opts))))
    opts = {"invokes": 200, "chunks": 5000, "conc": 200, "conc_chunks": 200, "long": 100_000}
    if args.quick:
        opts = {"invokes": 30, "chunks": 2000, "conc": 50, "conc_chunks": 100, "long": 20_000}
    clients = args.clients.split(",")
    if "core-floor" not in clients:
        parser.error("--clients must include core-floor: every ratio is taken to it")
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True}
    server = subprocess.Popen([sys.executable, "-m", "tests.bench.server"], **pipes)  # type: ignore[call-overload]
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        results = measure(clients, base_url, opts, 2 if args.quick else args.rounds)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"sizes: {opts} (concurrent: conc x conc_chunks; long: long chunks, short: chunks)")
    print(f"{len(results)} rounds; medians of per-round ratios to core-floor")
    report(results, clients)
    pairs = import_times(10 if args.quick else args.imports, args.import_python)
    ours, core = (statistics.median(p[i] for p in pairs) * 1000 for i in (0, 1))
    ratios = [o / c for o, c in pairs]
    print(f"import, CPU ms (median of {len(pairs)} pairs, {args.import_python}): ", end="")
    print(f"ChatGLM {ours:.0f}, core {core:.0f}; ratio **{statistics.median(ratios):.3f}x**")
    print(f"(pairs {min(ratios):.2f}-{max(ratios):.2f}, bar 1.05x)")
    return None


if __name__ == "__main__":
    main()
