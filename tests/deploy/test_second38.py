"""Second look at stop 38's deploy fixes: digests recorded before still match."""

from __future__ import annotations

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
