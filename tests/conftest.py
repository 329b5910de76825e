"""Shared fixtures: databases (SQLite and PostgreSQL), runtime, HTTP client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from medsign.runtime import Runtime
from medsign.settings import Settings
from medsign.web.app import create_app
from tests.support.clock import FrozenClock
from tests.support.databases import empty_all_tables, migrated_database, postgres_url

pytest_plugins = ["tests.support.fixtures"]

DB_KINDS = ["sqlite"] + (["postgresql"] if postgres_url() else [])


@pytest.fixture(scope="session", params=DB_KINDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database, once per session and kind."""
    with migrated_database(request.param, tmp_path_factory.mktemp(request.param)) as url:
        yield url


@pytest.fixture
def clock() -> FrozenClock:
    """A frozen clock the test can move."""
    return FrozenClock()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, keys_dir: Path) -> Settings:
    """Settings for one test: its own data dir, dev outbox, no in-process worker."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        public_url="http://testserver",
        in_process_worker=False,
        secret_key=SecretStr("test-secret-key-0123456789abcdef-0123456789"),
        _env_file=None,
    )


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One development CA for the whole session (key generation is not what we test)."""
    return tmp_path_factory.mktemp("keys")


@pytest.fixture
def rt(
    settings: Settings, clock: FrozenClock, keys_dir: Path, database_url: str
) -> Iterator[Runtime]:
    """The runtime for one test; tables are emptied afterwards."""
    runtime = Runtime.build(settings, clock=clock)
    runtime.seal_keys.root = keys_dir  # share the session's CA
    yield runtime
    runtime.close()
    empty_all_tables(database_url)


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient]:
    """An HTTP client for the app on ``rt`` (no network)."""
    app = create_app(runtime=rt, migrate=False)
    with TestClient(app, follow_redirects=False) as c:
        yield c
