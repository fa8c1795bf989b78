"""Memory and start-up with a 100k-chunk index: peak RSS of the server, time to the first answer.

Two fresh processes over the same saved index: the real server (``python -m assistant serve``,
polled with POST /api/ask until the first answer, then GET /api/health until its chat page is
up; peak RSS is read after both), and a step-by-step one that shows where the
start-up time goes (imports, index load, model load, first answer). Peak RSS is the kernel's VmHWM.

    python bench/startup_memory.py [--quick] [--json] [--work DIR] [--backends torch,onnx]
    python bench/startup_memory.py --model multilingual-e5-small --backends onnx
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import DEFAULT_WORK, ROOT, emit, load_avg, machine, table

from assistant.config import MINILM_MODEL

CHUNKS = 100_000

_STEPS = r"""
import json, sys, time
t0 = time.perf_counter(); marks = {}
def mark(name):
    marks[name] = round(time.perf_counter() - t0, 3)
    with open("/proc/self/status") as fh:
        marks[name + "_rss_mb"] = next(
            int(line.split()[1]) // 1024 for line in fh if line.startswith("VmHWM"))
from assistant.config import Settings
from assistant.answer.factory import create_assistant
from assistant.index.factory import load_live_index
from assistant.embed.factory import create_embedder
import faiss, bm25s, numpy
mark("imports")
settings = Settings.from_env()
version = load_live_index(settings)
mark("index_loaded")
embedder = create_embedder(settings.model, settings.backend, cache_dir=settings.index / "onnx")
embedder.encode(["warm up"], batch_size=1)
mark("model_loaded")
assistant = create_assistant(settings, embedder=embedder, version=version)
answer = assistant.ask("When will Espoo be carbon neutral?")
mark("first_answer")
assistant.ask("How do city bikes work in Espoo?")
mark("second_answer")
print(json.dumps(marks))
"""


def saved_index(work: Path, model: str = MINILM_MODEL) -> Path:
    """The 100k-chunk index of query_latency.py (synthetic vectors, real BM25, HNSW graph)."""
    from query_latency import synthetic_index_dir

    from assistant.embed.factory import create_embedder

    if model == MINILM_MODEL:
        return synthetic_index_dir(work, create_embedder(MINILM_MODEL, "torch"))
    folder = work / model.replace("/", "_")  # as query_latency.py --model
    embedder = create_embedder(model, "onnx", cache_dir=work / "onnx")
    return synthetic_index_dir(folder, embedder, model)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _peak_rss_mb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) // 1024 for line in fh if line.startswith("VmHWM"))


def _env(index_dir: Path, backend: str, model: str = MINILM_MODEL) -> dict[str, str]:
    return {
        **os.environ,
        "ASSISTANT_INDEX": str(index_dir),
        "ASSISTANT_BACKEND": backend,
        "ASSISTANT_MODEL": model,
        # serve the saved index as it is: it does not match documents/, and a catch-up rebuild
        # (replacing 100k synthetic passages with the real ones) is not what this measures
        "ASSISTANT_WATCH": "false",
        "ASSISTANT_DOCUMENTS": str(ROOT / "documents"),
    }


def server_run(
    index_dir: Path, backend: str, timeout: float = 300, model: str = MINILM_MODEL
) -> dict[str, Any]:
    import httpx

    port = _free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--port", str(port)],
        cwd=ROOT,
        env=_env(index_dir, backend, model),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        first = None
        while time.perf_counter() - started < timeout and proc.poll() is None:
            try:
                r = httpx.post(
                    f"http://127.0.0.1:{port}/api/ask",
                    timeout=60,
                    json={"question": "When will Espoo be carbon neutral?"},
                )
                if r.status_code == 200:
                    first = time.perf_counter() - started
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        if first is None:
            raise RuntimeError(f"the server gave no answer within {timeout} s")
        for q in ("How do city bikes work in Espoo?", "What is the Espoo Story?"):
            httpx.post(f"http://127.0.0.1:{port}/api/ask", json={"question": q}, timeout=60)
        chat = None  # the chat page is built after the API answers; RSS is read once it is up
        while time.perf_counter() - started < timeout and proc.poll() is None:
            health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=10).json()
            if health.get("chat") in ("ready", "failed"):
                if health["chat"] == "failed":
                    raise RuntimeError("the server could not build its chat page")
                chat = time.perf_counter() - started
                break
            time.sleep(0.1)
        if chat is None:
            raise RuntimeError(f"the chat page was not ready within {timeout} s")
        return {
            "first_answer_s": round(first, 2),
            "chat_ready_s": round(chat, 2),
            "peak_rss_mb": _peak_rss_mb(proc.pid),
        }
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def steps_run(index_dir: Path, backend: str, model: str = MINILM_MODEL) -> dict[str, Any]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _STEPS],
        cwd=ROOT,
        env=_env(index_dir, backend, model),
        capture_output=True,
        text=True,
        check=True,
    )
    marks = json.loads(out.stdout.strip().splitlines()[-1])
    marks["process_s"] = round(time.perf_counter() - started, 2)
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="(same work; kept for run_all)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--backends", default="torch,onnx")
    parser.add_argument(
        "--model", default=MINILM_MODEL, help="e.g. multilingual-e5-small (with --backends onnx)"
    )
    args = parser.parse_args()
    index_dir = saved_index(args.work, args.model)
    if any(b.startswith("onnx") for b in args.backends.split(",")):
        from assistant.embed.factory import create_embedder

        # Export once beforehand, to both places the server and the steps look (not timed here).
        for cache in (None, index_dir / "onnx"):
            for backend in {b for b in args.backends.split(",") if b.startswith("onnx")}:
                create_embedder(args.model, backend, cache_dir=cache).encode(["warm up"])
    rows = []
    for backend in args.backends.split(","):
        load = load_avg()
        server = server_run(index_dir, backend, model=args.model)
        steps = steps_run(index_dir, backend, args.model)
        label = backend if args.model == MINILM_MODEL else f"{args.model} ({backend})"
        rows.append({"backend": label, "load_avg": load, **server, "steps": steps})
    md = f"**Start-up and memory, {CHUNKS:,}-chunk index** (fresh processes; s from start)\n\n"
    md += table(
        [
            "Query encoder",
            "Server: first answer s",
            "Server: chat ready s",
            "Server: peak RSS MB",
            "Imports s",
            "Index loaded s",
            "Model loaded s",
            "First answer s",
            "Second answer s",
            "Steps: peak RSS MB",
            "Load avg",
        ],
        [
            [
                r["backend"],
                r["first_answer_s"],
                r["chat_ready_s"],
                r["peak_rss_mb"],
                r["steps"]["imports"],
                r["steps"]["index_loaded"],
                r["steps"]["model_loaded"],
                r["steps"]["first_answer"],
                r["steps"]["second_answer"],
                r["steps"]["second_answer_rss_mb"],
                r["load_avg"],
            ]
            for r in rows
        ],
    )
    emit(
        {"name": "startup", "quick": args.quick, "machine": machine(), "rows": rows}, md, args.json
    )


if __name__ == "__main__":
    main()
