"""The directory several processes count their metrics into. Its own module, importing nothing of
prometheus_client: the variable must be set before prometheus_client is first imported (it reads it once)."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from oms.config import Settings

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
_PID = re.compile(r"_(\d+)\.db$")


def multiprocess_directory(settings: Settings) -> Path:
    """Make the directory the server's processes (and a worker on the same host) count into, and name it in
    ``PROMETHEUS_MULTIPROC_DIR`` for this process and those it starts (granian forks its workers from it).
    Files of processes no longer running are removed: their counts ended with them (Prometheus reads a
    restarted counter as a reset)."""
    directory = settings.metrics_dir or settings.data_dir / "metrics"
    directory.mkdir(parents=True, exist_ok=True)
    for file in directory.glob("*.db"):
        found = _PID.search(file.name)
        if found is not None and not _running(int(found[1])):
            with contextlib.suppress(FileNotFoundError):
                file.unlink()
    os.environ[MULTIPROCESS_ENV] = str(directory.resolve())
    return directory


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: running
        return True
    return True
