"""The command line (``espoo-assistant``, ``python -m assistant``): assembles pieces, no logic.

It may import every stage; ``training`` holds the two commands that train the learned models.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import click

from ..config import Settings
from ..errors import AssistantError
from .training import train_reader, train_scorer


class _Group(click.Group):
    """Turns AssistantError into one clear line and a non-zero exit, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AssistantError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted. The previous index is unchanged.", err=True)
            ctx.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--documents",
    type=click.Path(path_type=Path),
    default=None,
    help="Documents folder [env ASSISTANT_DOCUMENTS; default ./documents].",
)
@click.option(
    "--index",
    "index_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Index folder [env ASSISTANT_INDEX; default ./index].",
)
@click.option("-v", "--verbose", is_flag=True, help="Log more detail.")
@click.pass_context
def cli(ctx: click.Context, documents: Path | None, index_dir: Path | None, verbose: bool) -> None:
    """Espoo Sustainability Assistant: answers with citations from Espoo's documents."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("bm25s", "sentence_transformers", "transformers", "httpx", "faiss"):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose else logging.ERROR)
    ctx.obj = Settings.from_env(documents=documents, index=index_dir)


def _settings(ctx: click.Context) -> Settings:
    return ctx.find_object(Settings)  # type: ignore[return-value]


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@cli.command()
@click.option("--full", is_flag=True, help="Re-embed every document, ignoring what is indexed.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option(
    "--watch",
    is_flag=True,
    help="Then keep watching the documents and publish a new version on every change "
    "(the builder for replicas started with serve --follow); Ctrl-C stops.",
)
@click.pass_context
def build(ctx: click.Context, full: bool, as_json: bool, watch: bool) -> None:
    """Build or update the index (only new and changed documents are embedded)."""
    from ..index.factory import build_from_settings
    from ..index.progress import terminal_progress

    settings = _settings(ctx)
    report = build_from_settings(
        settings, full=full, progress=None if as_json else terminal_progress
    )
    _print_build(report, as_json)
    if watch:
        from ..web.live import build_on_changes

        click.echo(f"Watching {settings.documents} for changes (Ctrl-C stops)...", err=True)

        def on_build(result: Any) -> None:
            if isinstance(result, Exception):
                click.secho(f"Build failed, the last version stays published: {result}", err=True)
            else:
                _print_build(result, as_json)

        build_on_changes(settings, on_build)


_BUILD_KEYS = "documents added changed removed unchanged skipped chunks chunks_embedded".split()
_BUILD_KEYS += ["seconds", "version", "full"]


def _print_build(report: Any, as_json: bool) -> None:
    """A build's summary: one line (and skipped files), or one JSON object."""
    if as_json:
        data = report.to_dict()
        _echo_json({k: data[k] for k in _BUILD_KEYS})
        return
    click.echo(
        f"Index {report.version}: {report.documents} documents, {report.chunks} chunks "
        f"({report.added} added, {report.changed} changed, {report.removed} removed, "
        f"{report.unchanged} unchanged; {report.chunks_embedded} chunks embedded) "
        f"in {report.seconds:.1f} s."
    )
    if report.full and report.reason:
        click.echo(f"Full build: {report.reason}.")
    for skipped in report.skipped:
        click.secho(f"Skipped {skipped.path}: {skipped.reason}", fg="yellow", err=True)


@cli.command()
@click.argument("query")
@click.option("-k", "k", default=5, show_default=True, help="Number of results.")
@click.option(
    "--mode", type=click.Choice(["hybrid", "dense", "lexical"]), default="hybrid", show_default=True
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.pass_context
def search(ctx: click.Context, query: str, k: int, mode: str, as_json: bool) -> None:
    """Show the passages that best match QUERY."""
    from ..evaluation.first_start import assistant_for

    assistant = assistant_for(_settings(ctx))
    result = assistant.retriever.search(assistant.version, query, k=k, mode=mode)
    rows = [
        {
            "rank": r,
            "score": round(h.score, 4),
            "dense": round(h.dense, 4),
            "lexical": round(h.lexical, 4),
            "title": h.chunk.title,
            "section": h.chunk.section,
            "page": h.chunk.page,
            "source": h.chunk.source,
            "date": h.chunk.date,
            "document": h.chunk.document,
            "text": h.chunk.text,
        }
        for r, h in enumerate(result.hits, start=1)
    ]
    if as_json:
        _echo_json({"query": query, "mode": mode, "results": rows})
        return
    for rank, h in enumerate(result.hits, start=1):
        c = h.chunk
        where = " › ".join(p for p in (c.title, c.section) if p)
        click.secho(f"{rank}. [{h.score:.4f}] {where}", bold=True)
        click.echo(f"   {c.source or c.document}  {c.date}")
        click.echo(f"   {c.text[:240]}{'…' if len(c.text) > 240 else ''}\n")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Show what is indexed, which documents changed since the last build, and which trained
    scorer answers."""
    from ..answer.reader import reader_path
    from ..answer.scorer import find_scorer, own_folder, scorer_folders
    from ..index.status import index_status

    settings = _settings(ctx)
    data = index_status(settings)
    folders = scorer_folders(settings.scorer_weights, settings.index)
    found = find_scorer(settings.model, folders, settings.reader, own=own_folder(settings))
    data["scorer"] = found.folder if found else None  # None: trained on the first start
    reader = reader_path(folders) if settings.reader else None
    data["reader"] = str(reader) if reader else None  # None: off, or on and not trained here
    if as_json:
        _echo_json(data)
        return
    if not data["built"]:
        click.echo(f"No index in {data['index']} yet; run `espoo-assistant build`.")
        return
    click.echo(f"Index {data['index_version']} in {data['index']}")
    click.echo(f"  documents: {data['documents']}   chunks: {data['chunks']}")
    click.echo(f"  model: {data['model']}   last build: {data['last_build']}")
    untrained = (
        "none yet (run `make reader`)"
        if settings.reader
        else "none yet (trained on the first start)"
    )
    click.echo(f"  scorer: {data['scorer'] or untrained}")
    not_read = (
        "not trained here (run `make reader`)" if settings.reader else "off (ASSISTANT_READER)"
    )
    click.echo(f"  reader: {data['reader'] or not_read}")
    pending = data["changed_since"]
    click.echo(
        f"  changed since: {len(pending['added'])} added, {len(pending['changed'])} changed, "
        f"{len(pending['removed'])} removed" + (" (run `build`)" if any(pending.values()) else "")
    )
    for skipped in data["skipped"]:
        click.secho(f"  skipped {skipped['path']}: {skipped['reason']}", fg="yellow")


@cli.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Create or upgrade the feedback and question-log tables (servers do it at start)."""
    from ..web.database import Database, shown

    database = Database.from_settings(_settings(ctx))
    click.echo(f"{shown(database.url)} is at schema revision {database.revision()}.")


@cli.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.pass_context
def ask(ctx: click.Context, question: str, as_json: bool) -> None:
    """Answer QUESTION with numbered sources."""
    from ..evaluation.first_start import assistant_for

    answer = assistant_for(_settings(ctx)).ask(question)
    if as_json:
        _echo_json(answer.to_dict())
        return
    click.echo(answer.text)
    if answer.note:
        click.secho(answer.note, fg="yellow")
    if answer.citations:
        click.echo("\nSources:")
    for c in answer.citations:
        where = " › ".join(p for p in (c.title, c.section) if p)
        page = f", page {c.page}" if c.page else ""
        click.echo(f"[{c.n}] {where} ({c.date or 'undated'}{page})")
        click.echo(f"    {c.source or c.document}")
        for quote in c.quotes:
            click.echo(f"    “{quote}”")


@cli.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-k", "k", default=5, show_default=True, help="Passages checked for retrieval_hit.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.option(
    "--novelty",
    is_flag=True,
    help="Also the metrics of the questions with a near twin among those the scorer was "
    "trained on (read beside FILE) and of the rest.",
)
@click.pass_context
def eval_(ctx: click.Context, file: Path, k: int, as_json: bool, novelty: bool) -> None:
    """Score answers on a JSON-lines question file (see docs/evaluation.md)."""
    from ..evaluation.first_start import assistant_for
    from ..evaluation.novelty import familiar
    from ..evaluation.questions import evaluate, load_questions, report_text

    settings = _settings(ctx).with_(top_k=k)
    assistant, questions = assistant_for(settings), load_questions(file)
    flags, about = familiar(assistant, questions, file.parent) if novelty else (None, {})
    report = evaluate(assistant, questions, familiar=flags)
    if novelty:
        report["novelty"] = about
    if as_json:
        _echo_json(report)
        return
    click.echo(report_text(report))


@cli.group()
def bench() -> None:
    """Benchmarks."""


@bench.command("beir")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@click.option("--limit", type=int, default=None, help="Only the first N test queries.")
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".cache"),
    show_default=True,
    help="Where corpus embeddings are cached between runs.",
)
@click.pass_context
def bench_beir(
    ctx: click.Context,
    folder: Path,
    as_json: bool,
    limit: int | None,
    cache: Path,
) -> None:
    """nDCG@10 and recall@100 of dense, BM25 and hybrid retrieval on a BEIR dataset."""
    from ..embed.factory import embedder_for
    from ..evaluation.beir import PUBLISHED, run_beir
    from ..index.progress import terminal_progress

    s = _settings(ctx)
    result = run_beir(
        folder,
        embedder_for(s),
        batch_size=s.batch_size,
        limit=limit,
        progress=terminal_progress,
        cache_dir=cache,
    )
    if as_json:
        _echo_json(result)
        return
    click.echo(f"{result['dataset']}: {result['queries']} queries, {result['documents']} documents")
    click.echo(f"{'mode':<10} {'nDCG@10':>8} {'recall@100':>11}")
    for mode, scores in result["modes"].items():
        click.echo(f"{mode:<10} {scores['ndcg@10']:>8.4f} {scores['recall@100']:>11.4f}")
    if result["dataset"].lower() == "scifact":
        click.echo("\nPublished nDCG@10 on SciFact:")
        for name, value in PUBLISHED.items():
            click.echo(f"  {name:<36} {value:.3f}")


@cli.command()
@click.option("--host", default=None, help="Interface to listen on [env ASSISTANT_HOST].")
@click.option("--port", type=int, default=None, help="Port [env ASSISTANT_PORT].")
@click.option(
    "--watch/--no-watch",
    default=None,
    help="Rebuild live when documents change [env ASSISTANT_WATCH; default: watch].",
)
@click.option("--follow", is_flag=True, help="Read-only replica: serve what a builder publishes.")
@click.pass_context
def serve(
    ctx: click.Context, host: str | None, port: int | None, watch: bool | None, follow: bool
) -> None:
    """Start the web app (chat, JSON API and widget)."""
    from ..web.server import run_server

    settings = _settings(ctx).with_(**{k: v for k, v in (("host", host), ("port", port)) if v})
    run_server(settings, watch=settings.watch if watch is None else watch, follow=follow)


cli.add_command(train_scorer)
cli.add_command(train_reader)


def main() -> None:
    cli(prog_name="espoo-assistant")
