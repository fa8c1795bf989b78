"""Live updates: background builds (one at a time), hot swaps, and a watcher on the documents.

Events that arrive while a build runs schedule exactly one more build. A build that fails leaves the
served version untouched; its error is kept for the health route and ``status``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..answer.assistant import Assistant
from ..config import Settings
from ..errors import AssistantError, IndexError_
from ..index.build import BuildReport
from ..index.factory import build_from_settings, chunking_of
from ..index.store import IndexVersion, check_compatible, current_version_dir, load_version
from ..ingest.documents import META_SUFFIX, SUPPORTED_SUFFIXES

if TYPE_CHECKING:  # watchfiles is imported when the watcher starts
    from watchfiles import Change

log = logging.getLogger(__name__)


@dataclass
class BuildState:
    """What the health route shows about builds."""

    building: bool = False
    pending: bool = False
    builds: int = 0
    last_result: str = ""  # "ok" or "failed"
    last_finished: str = ""
    last_success: str = ""
    last_error: str = ""
    last_report: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


#: Builds remembered for ``GET /api/admin/builds/{id}``.
MAX_BUILDS_KEPT = 50


@dataclass
class Build:
    """One scheduled build: its id, state ("queued", "running", "done", "failed"), progress
    (chunks and words embedded so far, of how many), report and error."""

    id: int
    reason: str
    requested: str
    state: str = "queued"
    started: str = ""
    finished: str = ""
    progress: dict[str, dict[str, int]] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class _Counter:
    """A progress bar that counts into a ``Build`` (what the admin API shows)."""

    def __init__(self, build: Build, total: int, unit: str) -> None:
        self.entry = build.progress.setdefault(unit, {"done": 0, "total": 0})
        self.entry.update(done=0, total=total)

    def update(self, n: int) -> None:
        self.entry["done"] = min(self.entry["done"] + n, self.entry["total"])

    def close(self) -> None:
        return None


class LiveIndex:
    """Rebuilds the index in a background thread and swaps the assistant onto each new version."""

    def __init__(self, settings: Settings, assistant: Assistant) -> None:
        self.settings = settings
        self.assistant = assistant
        self.state = BuildState()
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._full_requested = False
        self._builds: dict[int, Build] = {}
        self._queued: Build | None = None
        self._worker = threading.Thread(target=self._run, name="index-builder", daemon=True)
        self._watcher: threading.Thread | None = None
        self._worker.start()

    # --- scheduling -------------------------------------------------------------------------

    def request_build(self, *, full: bool = False, reason: str = "") -> int:
        """Schedule a build and return its id; while one runs, at most one more is queued (a
        request while one is queued joins it and gets its id)."""
        with self._wake:
            self.state.pending = True
            self._full_requested |= full
            if self._queued is None:
                number = max(self._builds, default=0) + 1
                self._queued = Build(number, reason, _now())
                self._builds[number] = self._queued
                for old in sorted(self._builds)[:-MAX_BUILDS_KEPT]:
                    del self._builds[old]
            number = self._queued.id
            self._wake.notify()
        log.info("Index build %d requested%s", number, f" ({reason})" if reason else "")
        return number

    def build(self, number: int) -> Build | None:
        """The build with id ``number`` (None when unknown or long forgotten)."""
        with self._wake:
            return self._builds.get(number)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until no build is running or pending (for tests and the admin route)."""
        with self._wake:
            return self._wake.wait_for(
                lambda: not self.state.pending and not self.state.building, timeout=timeout
            )

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._wake:
                self._wake.wait_for(lambda: self.state.pending or self._stop.is_set())
                if self._stop.is_set():
                    return
                self.state.pending, self.state.building = False, True
                full, self._full_requested = self._full_requested, False
                current, self._queued = self._queued, None
            if current is None:  # requested by the start-up catch-up, not through request_build
                current = Build(0, "catch-up", _now())
            current.state, current.started = "running", _now()
            try:
                report = self._build_once(full, current)
                current.state = "done" if report is not None else "failed"
                current.result = report.to_dict() if report is not None else {}
                current.error = "" if report is not None else self.state.last_error
            finally:
                current.finished = _now()
                with self._wake:
                    self.state.building = False
                    self._wake.notify_all()

    def _build_once(self, full: bool, build: Build | None = None) -> BuildReport | None:
        s = self.settings
        now = _now()

        def counter(total: int, *, unit: str = "chunk") -> _Counter:
            return _Counter(build or Build(0, "", now), total, unit)

        try:
            report = build_from_settings(
                s, full=full, embedder=self.assistant.retriever.embedder, progress=counter
            )
            if report.version != self.assistant.version.name:
                folder = current_version_dir(s.index)
                if folder is None:
                    raise IndexError_("the build finished but no live version is published")
                self.assistant.swap(load_version(folder, read_only=True))
                log.info("Now serving index %s (%s)", report.version, _summary(report))
        except (AssistantError, OSError) as exc:
            log.error("Index build failed; still serving %s: %s", self.assistant.version.name, exc)
            self.state.builds += 1
            self.state.last_result, self.state.last_error, self.state.last_finished = (
                "failed",
                str(exc),
                now,
            )
            return None
        except Exception as exc:  # noqa: BLE001 - the builder thread must survive anything
            log.exception("Unexpected error during an index build")
            self.state.builds += 1
            self.state.last_result, self.state.last_error = "failed", f"unexpected error: {exc}"
            self.state.last_finished = now
            return None
        self.state.builds += 1
        self.state.last_result, self.state.last_error = "ok", ""
        self.state.last_finished = self.state.last_success = _now()
        self.state.last_report = report.to_dict()
        return report

    # --- watching ---------------------------------------------------------------------------

    def start_watching(self) -> None:
        """Watch the documents folder; bursts of changes are debounced into one build."""
        if self._watcher is not None:
            return
        self._watcher = threading.Thread(target=self._watch, name="documents-watcher", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        from watchfiles import watch

        folder = self.settings.documents
        while not self._stop.is_set():
            try:
                for changes in watch(
                    folder,
                    watch_filter=relevant,
                    debounce=self.settings.watch_debounce_ms,
                    stop_event=self._stop,
                    raise_interrupt=False,
                    yield_on_timeout=False,
                ):
                    names = sorted({Path(p).name for _, p in changes})
                    self.request_build(reason=f"changed: {', '.join(names[:5])}")
            except Exception as exc:  # noqa: BLE001 - a vanished folder must not kill the watcher
                log.warning("Watching %s failed (%s); retrying in 2 s", folder, exc)
                self._stop.wait(2.0)

    def stop(self) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify_all()


def relevant(change: Change, path: str) -> bool:
    """Whether a change of ``path`` can change the index (not a temp file, a known type)."""
    name = Path(path).name
    if name.startswith((".", "~")) or name.endswith(("~", ".swp", ".tmp", ".part")):
        return False
    return name.endswith(META_SUFFIX) or Path(name).suffix.lower() in SUPPORTED_SUFFIXES


def build_on_changes(
    settings: Settings, on_build: Any, stop: threading.Event | None = None
) -> None:
    """The builder alone (``build --watch``): rebuild the index on every burst of changes in
    ``settings.documents`` until ``stop`` is set (or Ctrl-C); ``on_build(report or error)``."""
    from watchfiles import watch

    from ..embed.factory import embedder_for

    embedder = embedder_for(settings)  # loaded once, for every build
    for _ in watch(
        settings.documents,
        watch_filter=relevant,
        debounce=settings.watch_debounce_ms,
        stop_event=stop,
        raise_interrupt=False,
    ):
        try:
            on_build(build_from_settings(settings, embedder=embedder))
        except (AssistantError, OSError) as exc:  # the published version stays as it was
            on_build(exc)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _summary(report: BuildReport) -> str:
    return (
        f"{report.added} added, {report.changed} changed, {report.removed} removed, "
        f"{len(report.skipped)} skipped"
    )


def load_best_version(settings: Settings) -> tuple[IndexVersion | None, str]:
    """The live version if it loads; else the newest older version that does (and why)."""
    index_dir = settings.index
    live = current_version_dir(index_dir)
    candidates = ([live] if live else []) + sorted(
        (p for p in index_dir.glob("v-*") if p.is_dir() and p != live), reverse=True
    )
    problem = ""
    for folder in candidates:
        try:
            version = load_version(folder, read_only=True)
            check_compatible(version.manifest, model=settings.model, chunking=chunking_of(settings))
            return version, problem
        except IndexError_ as exc:
            log.warning("Cannot serve index version %s: %s", folder.name, exc)
            problem = problem or str(exc)
    return None, problem or "no index has been built yet; run `espoo-assistant build`"


def start_live(
    settings: Settings, assistant: Assistant, *, watch: bool, catch_up: bool
) -> LiveIndex:
    """The background builder (for the admin route); with ``watch`` also the folder watcher.

    ``catch_up`` runs one build at once: documents may have changed while the server was down, or
    a build was killed half-way, or the live version was damaged and an older one is served.
    """
    live = LiveIndex(settings, assistant)
    if watch:
        live.start_watching()
    if catch_up:
        live.request_build(reason="start-up check")
    return live
