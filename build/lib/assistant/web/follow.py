"""A read-only replica (``serve --follow``): it never builds, it follows what the builder publishes.

The index folder is the shared artefact. A builder (``espoo-assistant build --watch``, or a
``serve --watch`` process) publishes each new version by an atomic rename of ``CURRENT``; a
follower checks ``CURRENT`` every ``FOLLOW_SECONDS`` and, when it names a newer version, loads it
read-only and swaps the assistant onto it (requests in flight finish on the version they
started with). When the folder cannot be read for a while (a network volume briefly away) the
follower keeps serving the version it has and tries again; it never writes to the index.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from typing import Any

from ..answer.assistant import Assistant
from ..config import Settings
from ..errors import AssistantError
from ..index.factory import chunking_of
from ..index.store import check_compatible, current_version_dir, load_version

log = logging.getLogger(__name__)

#: How often a follower looks for a newer version.
FOLLOW_SECONDS = 1.0


@dataclass
class FollowState:
    """What the health route shows about a follower."""

    following: bool = True
    swaps: int = 0
    last_check: str = ""
    last_error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Follower:
    """Swaps ``assistant`` onto each version the builder publishes in ``settings.index``."""

    def __init__(self, settings: Settings, assistant: Assistant, interval: float = FOLLOW_SECONDS):
        self.settings, self.assistant, self.interval = settings, assistant, interval
        self.state = FollowState()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="index-follower", daemon=True)
        self._thread.start()

    def check(self) -> bool:
        """Look once; True when a newer version was swapped in."""
        self.state.last_check = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        try:
            folder = current_version_dir(self.settings.index)
            if folder is None or folder.name == self.assistant.version.name:
                self.state.last_error = ""
                return False
            version = load_version(folder, read_only=True)
            check_compatible(
                version.manifest, model=self.settings.model, chunking=chunking_of(self.settings)
            )
        except (AssistantError, OSError) as exc:
            if str(exc) != self.state.last_error:
                log.warning("Cannot follow the index yet (%s); still serving %s", exc, self.name)
            self.state.last_error = str(exc)
            return False
        self.assistant.swap(version)
        self.state.swaps += 1
        self.state.last_error = ""
        log.info("Now serving index %s (published by the builder)", version.name)
        return True

    @property
    def name(self) -> str:
        return self.assistant.version.name

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()

    def stop(self) -> None:
        self._stop.set()
