"""The entry point of the embedded sandbox's child process.

It imports only the sandbox package, not the target's API client, so the child imports in
about 0.3 s, where the target's own imports take about 0.7 s (2-core benchmark machine).
"""

from __future__ import annotations

import logging
import os
import signal
import sys

from target_linkedin_audiences.sandbox.server import SandboxServer


def serve_embedded_sandbox(db_path: str) -> None:
    """Serve the sandbox for a parent process: print its URL, then serve until stdin closes."""
    # Ctrl-C reaches the whole process group; the parent decides when the sandbox stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    server = SandboxServer(db_path=db_path).start()
    try:
        sys.stdout.write(server.url + "\n")
        sys.stdout.flush()
        sys.stdin.buffer.read()
    finally:
        server.stop()
    # The database is closed and nothing is left to write, so the child skips the interpreter's
    # teardown, which took about 20 ms of the parent's wait.
    logging.shutdown()
    sys.stdout.flush()
    os._exit(0)
