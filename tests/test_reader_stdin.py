"""Standard input with a 1 MiB buffer: lines arrive as the pipe gets them, and in-memory stdin still works."""

from __future__ import annotations

import io
import select
import subprocess
import sys

from target_linkedin_audiences import reader

ECHO_LINES = (
    "import sys\n"
    "from target_linkedin_audiences.reader import _buffered_stdin\n"
    "for line in _buffered_stdin():\n"
    "    sys.stdout.buffer.write(line)\n"
    "    sys.stdout.flush()\n"
)


def test_pipe_line_arrives_before_buffer_fills():
    process = subprocess.Popen(
        [sys.executable, "-c", ECHO_LINES], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        process.stdin.write(b'{"type": "STATE", "value": {}}\n')
        process.stdin.flush()
        # A reader that waited for 1 MiB would echo nothing until the pipe closed.
        ready, _, _ = select.select([process.stdout], [], [], 20)
        first = process.stdout.readline() if ready else b""

        process.stdin.write(b"second\n")
        process.stdin.close()
        rest = process.stdout.read()
    finally:
        process.kill()
        process.wait()

    assert first == b'{"type": "STATE", "value": {}}\n'
    assert rest == b"second\n"


def test_long_line_read_whole():
    line = b'{"type": "RECORD", "stream": "s", "record": {"text": "' + b"x" * (3 * reader.STDIN_BUFFER_BYTES) + b'"}}\n'

    completed = subprocess.run(
        [sys.executable, "-c", ECHO_LINES], input=line + b"next\n", capture_output=True, check=True
    )

    assert completed.stdout == line + b"next\n"


def test_in_memory_stdin_used_as_is(monkeypatch):
    stream = io.TextIOWrapper(io.BytesIO(b"line\n"))
    monkeypatch.setattr(sys, "stdin", stream)

    assert reader._buffered_stdin() is stream.buffer
