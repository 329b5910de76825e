"""The ``medsign`` command run inside the test process.

The same parser and commands as the console script (``medsign.cli.main.main``), with
exactly the ``MEDSIGN_*`` settings given, and stdout, stderr and the exit code collected
as ``subprocess.run`` would. A spawned ``medsign`` costs about 2 s of interpreter start
and imports per call; the tests about the console script itself (its entry point, a
process that is killed, ``serve``) still spawn it.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass

from medsign.cli.main import main

PREFIX = "MEDSIGN_"


@dataclass(frozen=True)
class CliResult:
    """What a run printed and how it ended (``returncode`` as a process's)."""

    returncode: int
    stdout: str
    stderr: str


@contextmanager
def settings_only(env: Mapping[str, str]) -> Iterator[None]:
    """os.environ with its ``MEDSIGN_*`` variables replaced by those of ``env`` (for a
    test that calls ``main`` from several threads at once)."""
    saved = {k: v for k, v in os.environ.items() if k.startswith(PREFIX)}
    root_handlers = list(logging.getLogger().handlers)
    try:
        for key in saved:
            del os.environ[key]
        os.environ.update({k: v for k, v in env.items() if k.startswith(PREFIX)})
        yield
    finally:
        for key in [k for k in os.environ if k.startswith(PREFIX)]:
            del os.environ[key]
        os.environ.update(saved)
        logging.getLogger().handlers[:] = root_handlers  # main() may basicConfig


def run_cli(env: Mapping[str, str], *args: str) -> CliResult:
    """``medsign *args`` with the ``MEDSIGN_*`` settings of ``env`` (others are ignored,
    as a spawned process given ``env`` would see them)."""
    out, err = io.StringIO(), io.StringIO()
    with settings_only(env), redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse errors and ``SystemExit("medsign: ...")``
            if isinstance(exc.code, int) or exc.code is None:
                code = exc.code or 0
            else:
                print(exc.code, file=err)
                code = 1
    return CliResult(code, out.getvalue(), err.getvalue())
