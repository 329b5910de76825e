"""Property-based: random sequences of actions never reach an illegal state, and
every completed envelope has every required signature (hypothesis)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from medsign.documents.models import Document
from medsign.domain.states import EnvelopeStatus, SignerStatus
from medsign.envelopes.models import EnvelopeVersion, OtpChallenge
from medsign.envelopes.queries import load_envelope
from medsign.envelopes.schemas import EnvelopeIn, SignerIn
from medsign.envelopes.service import create_envelope, void_envelope
from medsign.envelopes.signing import Client, decline, send_code, sign
from medsign.envelopes.workflow import expire_due
from medsign.errors import DomainError
from medsign.runtime import Runtime
from tests.support.api import new_org
from tests.support.clock import FrozenClock
from tests.support.pdfs import make_pdf
from tests.support.worker import drain

SIGNERS = 3  # orders 1, 1, 2
ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("sign"), st.integers(0, SIGNERS - 1)),
        st.tuples(st.just("decline"), st.integers(0, SIGNERS - 1)),
        st.tuples(st.just("work"), st.just(0)),
        st.tuples(st.just("void"), st.just(0)),
        st.tuples(st.just("expire"), st.just(0)),
    ),
    max_size=10,
)
CLIENT = Client("127.0.0.1", "hypothesis")


def _new_envelope(rt: Runtime) -> tuple[str, str, list[str]]:
    org_id, _ = new_org(rt)
    data = make_pdf()
    with rt.transaction() as session:
        sha = rt.files.put(data)
        doc = Document(
            organization_id=org_id,
            title="T",
            kind="user_agreement",
            sha256=sha,
            pages=1,
            size=len(data),
            created_at=rt.clock(),
        )
        session.add(doc)
        session.flush()
        body = EnvelopeIn(
            document_id=doc.id,
            signers=[
                SignerIn(
                    role="patient",
                    name=f"S{i}",
                    phone=f"+7999000000{i}",
                    method="sms_otp",
                    order=1 if i < 2 else 2,
                )
                for i in range(SIGNERS)
            ],
        )
        env = create_envelope(
            session,
            rt.keyring,
            org_id,
            body,
            now=rt.clock(),
            default_ttl=timedelta(days=1),
            default_lang="en",
        )
        tokens = [rt.keyring.link_token(s.id, s.link_version) for s in env.signers]
        return org_id, env.id, tokens


def _act(
    rt: Runtime,
    clock: FrozenClock,
    org_id: str,
    env_id: str,
    tokens: list[str],
    action: tuple[str, int],
) -> None:
    kind, i = action
    try:
        if kind == "sign":
            clock.advance(seconds=31)
            with rt.transaction() as session:
                send_code(session, rt.keyring, rt.otp_rules, tokens[i], now=rt.clock())
            with rt.transaction() as session:
                challenge = session.scalars(
                    select(OtpChallenge).order_by(OtpChallenge.sent_at.desc()).limit(1)
                ).one()
                code = rt.keyring.otp_code(challenge.id)
            with rt.transaction() as session:
                sign(
                    session,
                    rt.keyring,
                    rt.otp_rules,
                    tokens[i],
                    code,
                    shown_sha256=None,
                    client=CLIENT,
                    now=rt.clock(),
                )
        elif kind == "decline":
            with rt.transaction() as session:
                decline(session, rt.keyring, tokens[i], "no", client=CLIENT, now=rt.clock())
        elif kind == "work":
            drain(rt)
        elif kind == "void":
            with rt.transaction() as session:
                void_envelope(session, org_id, env_id, "test", now=rt.clock())
        elif kind == "expire":
            clock.advance(days=2)
            with rt.transaction() as session:
                expire_due(session, now=rt.clock())
    except DomainError:
        pass  # refusals are fine; what matters is the state afterwards


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=ACTIONS)
def test_random_actions_keep_envelopes_legal(
    rt: Runtime, clock: FrozenClock, actions: list[tuple[str, int]]
) -> None:
    org_id, env_id, tokens = _new_envelope(rt)
    history: list[str] = []
    for action in [*actions, ("work", 0)]:
        _act(rt, clock, org_id, env_id, tokens, action)
        with rt.transaction() as session:
            env = load_envelope(session, org_id, env_id)
            statuses = [s.status for s in env.signers]
            history.append(env.status)
            # Terminal states are final.
            terminal = [h for h in history if EnvelopeStatus(h).terminal]
            assert not terminal or history[-1] == terminal[0]
            # The second group never signs before the whole first group is sealed.
            if statuses[2] == SignerStatus.SIGNED.value:
                assert all(s.sealed_at is not None for s in env.signers[:2])
            # A declined envelope has exactly one decliner; others never decline.
            declined = statuses.count(SignerStatus.DECLINED.value)
            assert declined == (1 if env.status == EnvelopeStatus.DECLINED.value else 0)
            if env.status == EnvelopeStatus.COMPLETED.value:
                assert statuses == [SignerStatus.SIGNED.value] * SIGNERS
                assert all(s.sealed_at is not None for s in env.signers)
                versions = session.scalar(
                    select(func.count())
                    .select_from(EnvelopeVersion)
                    .where(EnvelopeVersion.envelope_id == env_id)
                )
                assert versions == SIGNERS + 1  # the document plus one seal per signer
            if env.status == EnvelopeStatus.SENT.value:
                assert SignerStatus.CANCELLED.value not in statuses
