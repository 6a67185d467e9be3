"""Pool workers that end when the process that started them dies.

A ProcessPoolExecutor's workers wait on a pipe that they themselves hold open, so when the main
process is killed outright (`kill -9`, the out-of-memory killer) they never see it go and keep
running, orphaned, until someone kills them by hand. `watch_parent`, called in a pool's
initializer, starts a daemon thread in the worker that ends it once its parent is gone.

"Gone" is checked two ways, because either alone has a gap: the worker's parent pid changes (it
was re-parented to init or a subreaper; with the forkserver start method the parent is the fork
server, which exits with the main process), or the main process, whose pid is passed in from the
pool's owner, no longer exists (covers a worker whose initializer ran only after the main process
had already died). POSIX only: on Windows a parent's death does not re-parent its children and
`os.kill(pid, 0)` would send a Ctrl-C, so there the workers are left as before.

A pool being abandoned (its command interrupted) sets `stop`: the worker then exits at once instead
of finishing the task it is running, which the interrupted command would throw away.
"""

from __future__ import annotations

import os
import threading
from typing import Protocol

POLL_S = 0.5
"""How often a worker checks on its parent: cheap (two system calls) and prompt enough."""


class StopSignal(Protocol):
    """A `multiprocessing.Event`, as far as the watcher uses it."""

    def wait(self, timeout: float | None = None) -> bool: ...


def watch_parent(main_pid: int, poll_s: float = POLL_S, stop: StopSignal | None = None) -> None:
    """In a pool worker: exit (status 1) soon after `main_pid` or this worker's parent dies, and at
    once when `stop` is set."""
    parent = os.getppid()

    def gone() -> bool:
        return os.name != "nt" and (os.getppid() != parent or not _exists(main_pid))

    def watch() -> None:
        wait = stop.wait if stop is not None else threading.Event().wait  # True once stop is set
        while not wait(poll_s) and not gone():
            pass
        os._exit(1)

    if os.name == "nt" and stop is None:
        return
    threading.Thread(target=watch, name="convoysim-parent-watch", daemon=True).start()


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but belongs to someone else (the pid was reused)
        return True
    return True
