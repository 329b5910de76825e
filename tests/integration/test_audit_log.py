"""The audit log is an RFC 9162 Merkle log: appended without locks, sequenced into a
tree, checkpointed with a signed note and a time-stamp, and any rewrite is found."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update

from medsign.audit import merkle
from medsign.audit.models import AuditEvent, AuditLogCheckpoint, AuditLogHead, AuditTreeNode
from medsign.audit.note import Checkpoint, NoteKey, open_note
from medsign.audit.sequencer import note_digest, sequence, sequence_pending
from medsign.audit.service import leaf_data, verify_chain
from medsign.audit.verify import verify_log
from medsign.domain.tokens import Keyring
from medsign.jobs.handlers import periodic
from medsign.runtime import Runtime
from tests.support.api import new_org
from tests.support.audit import event_ids, verify, write_legacy_chain
from tests.support.pages import signed_envelope


def _signed_flow(client: TestClient, rt: Runtime) -> str:
    org_id, _, _ = signed_envelope(client, rt)
    return org_id


def _swap_leaves(rt: Runtime, first: int, second: int) -> None:
    with rt.transaction() as session:
        ia, ib = (
            session.scalar(select(AuditEvent.leaf_index).where(AuditEvent.id == i))
            for i in (first, second)
        )
        for event_id, index in ((first, -1), (second, ia), (first, ib)):
            session.execute(
                update(AuditEvent).where(AuditEvent.id == event_id).values(leaf_index=index)
            )


def test_flow_is_audited_sequenced_and_checkpointed(client: TestClient, rt: Runtime) -> None:
    org_id = _signed_flow(client, rt)
    with rt.transaction() as session:
        actions = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.organization_id == org_id)
            .order_by(AuditEvent.id)
        ).all()
    assert actions == [
        "organization.created",
        "document.created",
        "envelope.sent",
        "signer.invited",
        "signer.code_sent",
        "signer.signed",
        "signature.applied",
        "envelope.completed",
        "envelope.evidence_created",
    ]
    periodic(rt)  # the worker's housekeeping folds the rest in
    report = verify(rt)
    assert report.intact, report.problems
    assert report.tree_size == len(actions) and report.unsequenced == 0
    with rt.transaction() as session:
        cp = session.scalars(
            select(AuditLogCheckpoint).order_by(AuditLogCheckpoint.tree_size.desc())
        ).first()
        assert cp is not None and cp.tree_size == len(actions)
        assert cp.timestamp_token  # RFC 3161 token from the built-in TSA
        stated = open_note(cp.note, rt.audit_log.key.name, rt.audit_log.key.public_bytes)
        assert stated == Checkpoint("testserver/audit", cp.tree_size, bytes(cp.root_hash))
        # The root is the RFC 9162 root of the events' leaves, in leaf order.
        leaves = [
            merkle.leaf_hash(leaf_data(e))
            for e in session.scalars(select(AuditEvent).order_by(AuditEvent.leaf_index))
        ]
        compact = merkle.CompactRange()
        compact.extend(leaves)
        assert compact.root() == bytes(cp.root_hash)


def test_appending_locks_no_shared_row(client: TestClient, rt: Runtime) -> None:
    """Two transactions of one organization append at once: neither waits for the other
    (with the old per-organization row lock the second blocked until the first ended).
    SQLite has one writer by design, so this is PostgreSQL's."""
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serializes writers by design (BEGIN IMMEDIATE)")
    org_id, _ = new_org(rt)
    from medsign.audit.service import record

    first_in = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def slow() -> None:
        try:
            with rt.transaction() as session:
                record(session, org_id, "test.slow", at=rt.clock(), actor="t")
                first_in.set()
                release.wait(10)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    holder = threading.Thread(target=slow)
    holder.start()
    assert first_in.wait(10)
    done = threading.Event()

    def fast() -> None:
        with rt.transaction() as session:
            record(session, org_id, "test.fast", at=rt.clock(), actor="t")
        done.set()

    t = threading.Thread(target=fast)
    t.start()
    assert done.wait(5), "the second append waited for the first transaction"
    t.join()
    release.set()
    holder.join(10)
    assert not errors


def test_edit_delete_insert_reorder_and_rehash_are_found(client: TestClient, rt: Runtime) -> None:
    org_id = _signed_flow(client, rt)
    sequence_pending(rt)
    assert verify(rt).intact
    ids = event_ids(rt, org_id)

    # Edited: the leaf and every root from there differ.
    with rt.transaction() as session:
        actor = session.scalar(select(AuditEvent.actor).where(AuditEvent.id == ids[3]))
        session.execute(update(AuditEvent).where(AuditEvent.id == ids[3]).values(actor="x"))
    report = verify(rt)
    assert not report.intact
    assert any(f"event {ids[3]} " in p for p in report.problems)
    with rt.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == ids[3]).values(actor=actor))
    assert verify(rt).intact

    # Reordered: two events swap places in the tree.
    _swap_leaves(rt, ids[1], ids[2])
    assert any("root differs" in p for p in verify(rt).problems)
    _swap_leaves(rt, ids[1], ids[2])
    assert verify(rt).intact

    # Deleted: a gap in the leaves.
    with rt.transaction() as session:
        victim = session.get(AuditEvent, ids[-1])
        assert victim is not None
        saved = {c: getattr(victim, c) for c in ("organization_id", "at", "action", "actor")}
        session.execute(delete(AuditEvent).where(AuditEvent.id == ids[-1]))
    report = verify(rt)
    assert any("covers more events" in p for p in report.problems)
    assert saved["action"] == "envelope.evidence_created"


def test_a_fully_rehashed_log_fails_on_its_signed_checkpoints(
    client: TestClient, rt: Runtime
) -> None:
    """Someone with the database edits an event and recomputes every stored hash and
    the checkpoints' roots: the notes' signatures and time-stamps give it away."""
    org_id = _signed_flow(client, rt)
    sequence_pending(rt)
    ids = event_ids(rt, org_id)
    with rt.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == ids[2]).values(actor="x"))
        session.execute(delete(AuditTreeNode))
        stored: dict[tuple[int, int], bytes] = {}
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.leaf_index)).all()
        for e in events:
            assert e.leaf_index is not None
            stored[(0, e.leaf_index)] = merkle.leaf_hash(leaf_data(e))
        cache = merkle.NodeCache(lambda level, index: stored[(level, index)])
        for level, index, h in merkle.new_nodes(0, len(events), cache):
            stored[(level, index)] = h
        session.add_all(AuditTreeNode(level=k[0], index=k[1], hash=v) for k, v in stored.items())
        for cp in session.scalars(select(AuditLogCheckpoint)):
            cp.root_hash = merkle.root(cache, cp.tree_size)
    report = verify(rt)
    assert not report.intact
    assert all("root differs" not in p for p in report.problems)
    assert any("signed note states another tree" in p for p in report.problems)
    # Re-signing with a key of one's own does not pass either.
    forger = NoteKey.from_keyring(Keyring(b"f" * 40))
    with rt.transaction() as session:
        for cp in session.scalars(select(AuditLogCheckpoint)):
            cp.note = forger.sign(Checkpoint("testserver/audit", cp.tree_size, cp.root_hash))
    assert any("no signature by" in p for p in verify(rt).problems)


def test_events_not_yet_sequenced_are_reported(client: TestClient, rt: Runtime) -> None:
    new_org(rt)
    report = verify(rt)
    assert report.intact and report.unsequenced == 1 and report.oldest_unsequenced_at
    sequence_pending(rt)
    assert verify(rt).unsequenced == 0


def test_old_chains_stay_verifiable_and_join_the_log(client: TestClient, rt: Runtime) -> None:
    org_id, _ = new_org(rt)
    write_legacy_chain(rt, org_id, 5)
    with rt.transaction() as session:
        assert verify_chain(session, org_id).intact
        assert verify_chain(session, org_id).events == 5
    sequence_pending(rt)
    report = verify(rt)
    assert report.intact and report.tree_size == 6  # the chain and organization.created
    with rt.transaction() as session:
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.organization_id == org_id, AuditEvent.seq == 3)
            .values(actor="x")
        )
        assert verify_chain(session, org_id).first_broken_seq == 3
    assert not verify(rt).intact


def test_concurrent_sequencers_never_fork_the_tree(client: TestClient, rt: Runtime) -> None:
    org_id, _ = new_org(rt)
    from medsign.audit.service import record

    for batch in range(3):
        with rt.transaction() as session:
            for i in range(40):
                record(session, org_id, "test.event", at=rt.clock(), actor=f"{batch}-{i}")
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            for _ in range(3):
                with rt.transaction() as session:
                    sequence(session, rt.audit_log, None, now=rt.clock(), batch=25)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    sequence_pending(rt)
    report = verify(rt)
    assert report.intact and report.tree_size == 121
    with rt.transaction() as session:
        head = session.get(AuditLogHead, 1)
        assert head is not None and head.tree_size == 121
        sizes = session.scalars(select(AuditLogCheckpoint.tree_size)).all()
        assert len(sizes) == len(set(sizes)) >= 2 and max(sizes) == 121
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 121


def test_checkpoint_time_stamp_covers_the_note(client: TestClient, rt: Runtime) -> None:
    new_org(rt)
    sequence_pending(rt)
    with rt.transaction() as session:
        cp = session.scalars(select(AuditLogCheckpoint)).one()
        from medsign.audit.checkpoints import token_matches

        assert cp.timestamp_token is not None
        assert token_matches(cp.timestamp_token, note_digest(cp.note))
        assert not token_matches(cp.timestamp_token, note_digest(cp.note + " "))
        assert verify_log(session, rt.audit_log.key).intact
