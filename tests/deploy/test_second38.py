"""Second look at stop 38's deploy fixes: digests recorded before still match."""

from __future__ import annotations

from pathlib import Path

from modelship.deploy import Container, DeploymentSpec
from modelship.deploy._strategies import spec_digest

#: spec_digest of the spec below as histories recorded it before to_dict wrote
#: "port": null (computed with the code before 0ce0d60).
RECORDED = "sha256:92ee43326a59ed658fede30adbc822272e0eeea2bad65d9cf47044a8522e8556"


def test_a_spec_without_ports_has_the_digest_histories_recorded_before() -> None:
    # A changed digest redeploys the serving version: every unchanged re-run after the
    # upgrade would have switched traffic for nothing.
    spec = DeploymentSpec(
        containers=[Container(name="m", image="m:1"), Container(name="side", image="envoy:1")]
    )
    assert spec_digest(spec) == RECORDED


def test_staging_rolling_back_over_old_records_leaves_production_free_to_roll_back(
    tmp_path: Path,
) -> None:
    import contextlib
    import io
    from datetime import datetime, timedelta, timezone

    import modelship as ms
    from modelship.deploy._cli import main
    from modelship.deploy._history import RegistryHistory
    from modelship.deploy._rollout import RolloutRecord, RolloutStatus

    # Records written before rollouts recorded their alias: production's rollouts of 1,
    # then 2; staging was pointed at 2 by hand. Staging's rollback must not mark
    # production's record as rolled back for staging (production then could not roll back).
    url = str(tmp_path / "reg")
    reg = ms.open_registry(url)
    for n in (1, 2):
        reg.register(model_name="fraud", model=str(n).encode(), serializer="bytes")
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for n, (version, previous) in enumerate([("1", None), ("2", "1")]):
        RegistryHistory(reg).save(
            RolloutRecord(
                id=f"20260101T00000{n}000000Z-0000000{n}",
                model="fraud",
                version=version,
                strategy="blue-green",
                status=RolloutStatus.SUCCEEDED,
                slot="blue" if n == 0 else "green",
                previous_version=previous,
                previous_slot=None if previous is None else "blue",
                started_at=start + timedelta(seconds=n),
            )
        )
    reg.set_alias("fraud", "production", "2")
    reg.set_alias("fraud", "staging", "2")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["rollback", url, "fraud", "--alias", "staging"]) == 0
        assert main(["rollback", url, "fraud", "--alias", "production"]) == 0
    assert reg.aliases("fraud") == {"production": "1", "staging": "1"}


#: spec_digest of SORTED_ENV as histories recorded it before stop 44 (env as a mapping,
#: quantities as written); computed with the code before the digest kept env's order.
SORTED_ENV_RECORDED = "sha256:b753b4948c34a79551400b642728461fd15a09b5aab28a4b925b983785662f60"


def test_a_spec_with_sorted_env_names_and_a_canonical_quantity_keeps_its_recorded_digest() -> None:
    from modelship.deploy import Resources

    spec = DeploymentSpec(
        containers=[
            Container(
                name="m",
                image="m:1",
                env={"A": "/data", "B": "$(A)/x"},
                resources=Resources(limits={"cpu": "500m"}),
            )
        ]
    )
    assert spec_digest(spec) == SORTED_ENV_RECORDED
