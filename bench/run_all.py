"""Run every benchmark, print its table, and write the results into docs/benchmarks.md.

The results go between the ``<!-- results:start -->`` and ``<!-- results:end -->`` markers, so the
hand-written analysis around them stays. Each script runs in its own process, one after another
(never in parallel: they would slow each other down); a failing one is reported and skipped.

    python bench/run_all.py [--quick] [--only build,query,...] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

from common import DEFAULT_WORK, ROOT, machine

DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
#: name -> (script, extra arguments); in this order, since later ones reuse earlier indexes.
SCRIPTS = {
    "build": ("build_speed.py", []),
    "query": ("query_latency.py", []),
    "startup": ("startup_memory.py", []),
    "backends": ("backends.py", []),
    "peer": ("peer_llamaindex.py", []),
}
TITLES = {
    "build": "1–2. Build throughput and incremental rebuild",
    "query": "3. Query latency",
    "startup": "4. Memory and start-up",
    "backends": "Embedding backends: speed and quality",
    "backends-speed": "Embedding backends: speed, timed in turns",
    "peer": "5. A peer: LlamaIndex ingestion pipeline + FAISS",
}


def run(name: str, quick: bool, work: Path) -> dict:  # type: ignore[type-arg]
    script, extra = SCRIPTS[name]
    cmd = [
        sys.executable,
        str(Path(__file__).with_name(script)),
        "--json",
        "--work",
        str(work),
        *extra,
        *(["--quick"] if quick else []),
    ]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"name": name, "error": tail, "seconds": seconds}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["seconds"] = seconds
    return result


def describe(info: dict) -> str:  # type: ignore[type-arg]
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    return (
        f"{info['nproc']} cores ({info['cpu']}), {info['ram_gb']} GB RAM, no GPU; "
        f"Python {info['python']}; {versions}."
    )


def render(results: list[dict], quick: bool, info: dict) -> str:  # type: ignore[type-arg]
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    mode = "**--quick**: reduced sizes" if quick else "full sizes"
    parts = [
        f"Measured {when} by `bench/run_all.py` ({mode}) on: {describe(info)} "
        f"Load average at the start: {info['load_avg']} (the machine is shared; each table "
        "shows the load while it was measured)."
    ]
    for r in results:
        title = TITLES.get(r["name"], r["name"])
        marker = " (--quick)" if r.get("quick") else ""
        parts.append(f"### {title}{marker}")
        if "error" in r:
            parts.append(f"Not measured: {r['error']}")
        else:
            parts.append(r["markdown"])
        if "seconds" in r:
            parts.append(f"_Script time: {r['seconds']:.0f} s._")
    return "\n\n".join(parts)


def write(text: str) -> None:
    doc = DOC.read_text(encoding="utf-8") if DOC.is_file() else f"# Benchmarks\n\n{START}\n{END}\n"
    if START not in doc:
        doc += f"\n{START}\n{END}\n"
    head, rest = doc.split(START, 1)
    tail = rest.split(END, 1)[1] if END in rest else ""
    DOC.write_text(f"{head}{START}\n{text}\n{END}{tail}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="~1k and ~10k chunk corpora, etc.")
    parser.add_argument(
        "--only", default=",".join(SCRIPTS), help="comma-separated: " + ", ".join(SCRIPTS)
    )
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--from",
        dest="saved",
        nargs="+",
        type=Path,
        default=[],
        help="render saved `--json` outputs of the scripts instead of running them",
    )
    args = parser.parse_args()
    info = machine()
    results = [json.loads(p.read_text().strip().splitlines()[-1]) for p in args.saved]
    if results:
        info = results[0].get("machine", info)
        args.quick = any(r.get("quick") for r in results)
    for name in [] if results else args.only.split(","):
        print(f"== {name} ...", file=sys.stderr, flush=True)
        result = run(name, args.quick, args.work)
        results.append(result)
        print(result.get("markdown") or f"{name}: {result.get('error')}", flush=True)
        print(flush=True)
    text = render(results, args.quick, info)
    if not args.no_write:
        write(text)
        print(f"Wrote {DOC.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
