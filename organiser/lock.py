"""The run lock: an OS file lock (``fcntl.flock``) that keeps two runs on one host over one
database from overlapping. The kernel drops it when the process dies, so a killed run never
leaves a stale lock behind."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from organiser.errors import Unavailable, UserError


class LockHeld(Unavailable):
    """Another organiser on this host is running over the same database; exit 75."""


class RunLock:
    """The lock file for one database in ``state_dir``; it holds the holder's pid."""

    def __init__(self, state_dir: Path, database_url: str) -> None:
        digest = hashlib.sha256(database_url.encode()).hexdigest()[:12]
        self.path = state_dir / f"run-{digest}.lock"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Tell whether this process holds the lock through this object."""
        return self._fd is not None

    def acquire(self, wait: float = 0.0) -> None:
        """Take the lock, waiting up to ``wait`` seconds. Raises :class:`LockHeld` naming the
        holder, or :class:`UserError` if the state directory cannot be used."""
        if self._fd is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise UserError(
                f"[organiser] state_dir: cannot use {self.path.parent}: {exc.strerror}"
            ) from None
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
                    os.close(fd)
                    raise LockHeld(
                        f"another organiser run is in progress on this host ({holder}); "
                        "this one did nothing"
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Let the lock go (closing the file releases it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @contextlib.contextmanager
    def held_for(self, wait: float = 0.0) -> Iterator[None]:
        """Hold the lock for the block (re-entrant: a lock already held stays held after)."""
        if self.held:
            yield
            return
        self.acquire(wait)
        try:
            yield
        finally:
            self.release()
