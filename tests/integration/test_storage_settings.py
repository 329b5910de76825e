"""A bad ``MEDSIGN_STORAGE_URL`` stops the command at start-up with a message naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

MEDSIGN = [sys.executable, "-m", "medsign.cli.main"]


@pytest.mark.parametrize(
    ("command", "url", "says"),
    [
        (["db", "upgrade"], "s3://", "names no bucket"),
        (["worker"], "minio://docs/prod", "scheme 'minio' is not supported"),
    ],
)
def test_bad_storage_url_is_a_clear_startup_error(
    tmp_path: Path, command: list[str], url: str, says: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDSIGN_")}
    env.update({"MEDSIGN_DATA_DIR": str(tmp_path / "data"), "MEDSIGN_STORAGE_URL": url})
    run = subprocess.run([*MEDSIGN, *command], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, run.stderr
    assert "medsign: invalid settings:" in run.stderr
    assert "MEDSIGN_STORAGE_URL" in run.stderr and says in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "data").exists()  # nothing was created before the refusal
