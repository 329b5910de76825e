"""The CPU pool's children end when their worker is killed (SIGKILL, out of memory):
they are the forkserver's children, so nothing else would ever stop them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = """
import os, sys, time
from medsign.jobs.pool import CpuPool
from medsign.settings import Settings

if __name__ == "__main__":  # the forkserver imports this file again as __mp_main__
    settings = Settings(data_dir=sys.argv[1], _env_file=None)
    pool = CpuPool(settings, 2)
    pids = {pool._executor.submit(os.getpid).result() for _ in range(8)}
    print(" ".join(str(p) for p in sorted(pids)), flush=True)
    time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_children_end_when_the_worker_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDSIGN_")}
    children: list[int] = []
    with subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "data")],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    ) as worker:
        try:
            assert worker.stdout is not None
            children = [int(p) for p in worker.stdout.readline().split()]
            assert children and all(_alive(p) for p in children)
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            deadline = time.monotonic() + 10
            while any(_alive(p) for p in children) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not [p for p in children if _alive(p)], "pool children outlived their worker"
        finally:
            worker.kill()
            for pid in children:
                if _alive(pid):
                    os.kill(pid, signal.SIGKILL)
