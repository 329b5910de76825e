"""Word processor documents (DOCX, DOC, ODT, RTF) to PDF with LibreOffice headless.

Each conversion runs ``soffice --headless --convert-to pdf`` in a fresh temporary
directory with its own user profile (``-env:UserInstallation``), so conversions never
share state, lock each other out or leave anything behind; the process group is
killed when the time limit runs out. The caller (a sync request handler, so already a
worker thread, or the hot-folder agent) blocks; the event loop does not. At most
``MAX_PARALLEL`` conversions run at once per process: each LibreOffice takes a core
and a few hundred MB.

LibreOffice in headless conversion mode never runs document macros (its macro
security default), and macro-enabled files are refused before this point anyway.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from medsign.errors import ConversionFailed, ConversionTimeLimit, ConverterUnavailable
from medsign.pdf import sniff

MAX_PARALLEL = 2
_slots = threading.BoundedSemaphore(MAX_PARALLEL)


def find_soffice(configured: str | None = None) -> str | None:
    """The ``soffice`` executable: the configured path, else from PATH, else None."""
    if configured:
        return configured if Path(configured).exists() else None
    return shutil.which("soffice") or shutil.which("libreoffice")


def office_to_pdf(
    data: bytes, media_type: str, filename: str, *, timeout: float, soffice: str | None = None
) -> bytes:
    """The PDF LibreOffice makes of ``data`` (a DOCX, DOC, ODT or RTF file).

    Raises :class:`ConverterUnavailable` (LibreOffice not installed),
    :class:`ConversionTimeLimit` (slower than ``timeout`` seconds, waiting included)
    or :class:`ConversionFailed`.
    """
    binary = find_soffice(soffice)
    if binary is None:
        raise ConverterUnavailable(
            f"The file {filename!r} is a {sniff.EXTENSIONS.get(media_type, 'text')} document, "
            "and converting it needs LibreOffice, which is not installed on this server. "
            "Send a PDF, or ask the operator to install libreoffice-writer-nogui.",
            converter="libreoffice",
        )
    started = time.monotonic()
    if not _slots.acquire(timeout=timeout):
        raise _too_slow(filename, timeout)
    try:
        remaining = timeout - (time.monotonic() - started)
        return _run(binary, data, media_type, filename, max(remaining, 0.05), timeout)
    finally:
        _slots.release()


def _run(
    binary: str, data: bytes, media_type: str, filename: str, remaining: float, limit: float
) -> bytes:
    with tempfile.TemporaryDirectory(prefix="medsign-convert-") as tmp:
        work = Path(tmp)
        # The input gets a fixed name: the uploader's name never reaches a command line.
        source = work / f"input.{sniff.EXTENSIONS[media_type]}"
        source.write_bytes(data)
        profile = (work / "profile").as_uri()
        command = [
            binary,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--invisible",
            "--nologo",
            "--nodefault",
            "--nolockcheck",
            "--norestore",
            "--convert-to",
            "pdf:writer_pdf_Export",
            "--outdir",
            str(work / "out"),
            str(source),
        ]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(work),
            "TMPDIR": str(work),
            "LANG": "C.UTF-8",
            "SAL_USE_VCLPLUGIN": "svp",
        }
        with subprocess.Popen(
            command,
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed as a whole
        ) as proc:
            try:
                output, _ = proc.communicate(timeout=remaining)
            except subprocess.TimeoutExpired as exc:
                _kill_group(proc)
                raise _too_slow(filename, limit) from exc
            finally:
                if proc.poll() is None:
                    _kill_group(proc)
        result = work / "out" / "input.pdf"
        if proc.returncode != 0 or not result.exists() or result.stat().st_size == 0:
            tail = output.decode("utf-8", "replace").strip()[-200:]
            raise ConversionFailed(
                f"LibreOffice could not convert {filename!r} (is it damaged or "
                f"password-protected?). Save it as PDF and upload that. {tail}".strip(),
            )
        return result.read_bytes()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _too_slow(filename: str, limit: float) -> ConversionTimeLimit:
    return ConversionTimeLimit(
        f"Converting {filename!r} took longer than the limit of {limit:g} s; "
        "save it as PDF and upload that.",
        limit="max_conversion_seconds",
    )
