"""The child side of pipeline.run.isolation: a process that builds one page handler and runs
it on the batches its parent sends, until the parent closes the connection.

    python -m pipeline.run.worker_process FD

FD is this end of a socket pair. The first message is the handler factory (pickled); the child
answers ("ready", None) once the handler is built (a model loaded), or ("load_error", text).
Then each message is a batch and each answer ("ok", results) or ("error", text).
"""

from __future__ import annotations

import ctypes
import signal
import sys
from multiprocessing.connection import Connection


PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """A child stuck in a hang would outlive a killed actor; the kernel ends it with its parent."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


def serve(conn: Connection) -> None:
    factory = conn.recv()
    try:
        handler = factory()
    except Exception as exc:
        conn.send(("load_error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", None))
    while True:
        try:
            batch = conn.recv()
        except EOFError:  # the parent is gone or done
            return
        try:
            result = ("ok", handler(batch))
        except Exception as exc:
            result = ("error", f"{type(exc).__name__}: {exc}")
        conn.send(result)


if __name__ == "__main__":
    _die_with_parent()
    serve(Connection(int(sys.argv[1])))
