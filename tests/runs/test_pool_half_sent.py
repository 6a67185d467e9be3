"""A pool abandoned while a worker is sending a large result still lets the program end.

The worker is stopped mid-send, which leaves half a message in the result pipe; the pool's manager
thread, reading it, used to wait for the rest for ever, and the interpreter joins that thread at
exit: the command said what it kept and then never ended (seen once in three interrupted sweeps).
The window is a few tenths of a second, so the test tries several times: before the fix about half
the tries hung."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX signals")

PROGRAM = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from convoysim.runs.pool import LocalExecutor

    SENDING = Path(sys.argv[1])

    def large_or_slow(shared, task):
        if task == 0:
            payload = b"x" * 200_000_000   # long enough to send that the stop lands mid-message
            SENDING.write_text("sending")
            return payload
        time.sleep(60)

    if __name__ == "__main__":
        try:
            with LocalExecutor(2).pool() as pool:
                for _ in pool.map(large_or_slow, [0, 1, 2, 3]):
                    pass
        except KeyboardInterrupt:
            print("left the pool", flush=True)
    """
)

TRIES = 4


def test_a_pool_stopped_while_a_worker_sends_a_result_lets_the_program_end(tmp_path):
    program = tmp_path / "program.py"
    program.write_text(PROGRAM)
    for attempt in range(TRIES):
        sending = tmp_path / f"sending-{attempt}"
        proc = subprocess.Popen(
            [sys.executable, str(program), str(sending)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 120
            while not sending.exists() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.002)
            assert sending.exists(), proc.communicate()[1].decode()
            os.kill(proc.pid, signal.SIGINT)
            try:
                out, err = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                pytest.fail(f"try {attempt + 1}: the program left the pool and then never ended")
            assert proc.returncode == 0 and b"left the pool" in out, err.decode()
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
