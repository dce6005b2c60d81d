"""Properties of the adapter's small computations: shares, readiness, redaction."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from modelship.deploy.kubernetes import redact, rollout_progress
from modelship.deploy.kubernetes._deployer import _percentages
from modelship.deploy.kubernetes._redact import forget_secrets, remember_secrets

counts = st.integers(min_value=0, max_value=50)


@given(counts, counts)
def test_shares_of_two_slots_sum_to_100_and_follow_their_replicas(a: int, b: int) -> None:
    shares = _percentages({"blue": a, "green": b})
    if a + b == 0:
        assert shares == {"blue": 0, "green": 0}
    else:
        assert sum(shares.values()) == 100
        assert abs(shares["blue"] - 100 * a / (a + b)) <= 1


small = st.integers(min_value=0, max_value=4)


@given(small, small, small, small, small, st.integers(1, 3), st.integers(1, 3), st.booleans())
def test_a_rollout_is_done_only_when_every_replica_is_new_and_available(
    desired: int,
    total: int,
    updated: int,
    available: int,
    ready: int,
    gen: int,
    seen: int,
    late: bool,
) -> None:
    dep = {
        "metadata": {"name": "d", "generation": gen},
        "spec": {"replicas": desired},
        "status": {
            "observedGeneration": seen,
            "replicas": total,
            "updatedReplicas": updated,
            "availableReplicas": available,
            "readyReplicas": ready,
            "conditions": [
                {
                    "type": "Progressing",
                    "reason": "ProgressDeadlineExceeded" if late else "NewReplicaSetAvailable",
                }
            ],
        },
    }
    progress = rollout_progress(dep)
    assert not (progress.done and progress.failed)
    if progress.done:
        assert seen >= gen
        assert not late
        assert updated >= desired
        assert total <= updated
        assert available >= updated
    if progress.failed:
        assert late
        assert seen >= gen


secret_text = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=6, max_size=40
)


@given(secret_text, st.text(max_size=30), st.text(max_size=30))
def test_a_remembered_secret_never_survives_redaction(secret: str, before: str, after: str) -> None:
    remember_secrets([secret])
    try:
        assert secret not in redact(before + secret + after)
    finally:
        forget_secrets([secret])


@given(st.from_regex(r"[A-Za-z0-9._~+/=-]{8,40}", fullmatch=True))
def test_a_bearer_token_is_redacted_even_when_never_registered(token: str) -> None:
    assert token not in redact(f"GET /api: 401 (Authorization: Bearer {token})")
