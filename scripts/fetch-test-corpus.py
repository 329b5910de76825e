#!/usr/bin/env python3
"""Fetch the third-party PDF corpus the intake tests run over (issue 3, "[intake]").

The PDFs come from the source distributions of two PDF libraries on PyPI, pinned by
version and SHA-256: pikepdf's ``tests/resources`` and pypdf's ``resources`` — files
made by Word, LibreOffice, Acrobat, pdfTeX, ReportLab, ImageMagick, scanners, with
forms, encryption (RC4, AES-128, AES-256), broken structure and fuzzer finds.
Only the ``*.pdf`` members are kept, under ``.cache/test-corpus/<sdist>/``.

Idempotent: a sdist already extracted is not fetched again. Standard library only, so
it runs before the virtualenv exists. Exit status 0 even when offline (the tests then
say the corpus is missing, and fail under CI).
"""

from __future__ import annotations

import hashlib
import json
import sys
import tarfile
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

# (project, version, sha256 of the sdist)
SDISTS = [
    ("pikepdf", "10.17.0", "de4ccaae83628e86c1fd473b384c09c6ff1dd35a583a8dacbf61d2aa4bea843b"),
    ("pypdf", "7.1.0", "ca3fa902369e98a6d2cb7b56396de902b72ef9bb3c1e8706c1bfc7d8bd0cf0d7"),
]
ROOT = Path(__file__).resolve().parents[1] / ".cache" / "test-corpus"
MAX_MEMBER = 20_000_000


def say(text: str) -> None:
    print(f"[test-corpus] {text}", flush=True)


def sdist_url(project: str, version: str) -> str:
    """The sdist's download address from PyPI's JSON simple index (PEP 691)."""
    index = f"https://pypi.org/simple/{project}/"
    request = urllib.request.Request(
        index, headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - https only
        info = json.load(response)
    wanted = f"{project}-{version}.tar.gz"
    for entry in info["files"]:
        if entry["filename"] == wanted:
            return urllib.parse.urljoin(index, entry["url"])
    raise LookupError(f"{wanted} is not on PyPI")


def fetch(project: str, version: str, digest: str) -> int:
    """Download, check and extract one sdist's PDFs; returns how many PDFs it holds."""
    target = ROOT / f"{project}-{version}"
    done = target / ".complete"
    if done.exists():
        return len(list(target.rglob("*.pdf")))
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "sdist.tar.gz"
        urllib.request.urlretrieve(sdist_url(project, version), archive)  # noqa: S310
        actual = hashlib.sha256(archive.read_bytes()).hexdigest()
        if actual != digest:
            raise ValueError(f"{project} {version}: SHA-256 {actual} is not the pinned {digest}")
        count = 0
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                if not (member.isfile() and member.name.lower().endswith(".pdf")):
                    continue
                if member.size > MAX_MEMBER or ".." in Path(member.name).parts:
                    continue
                source = tar.extractfile(member)
                if source is None:
                    continue
                # Flatten the path below the sdist's top folder into one file name.
                name = "__".join(Path(member.name).parts[1:])
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                (target / name).write_bytes(source.read())
                count += 1
    done.write_text(f"{project} {version} {digest}\n")
    return count


def main() -> int:
    """Fetch every pinned sdist; report what is there."""
    total = 0
    for project, version, digest in SDISTS:
        try:
            total += fetch(project, version, digest)
        except (OSError, ValueError, LookupError) as exc:
            say(f"could not fetch {project} {version}: {exc}")
    say(f"{total} PDFs under {ROOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
