"""Second look at stop 38's dry-run masking: annotations named as credentials."""

from __future__ import annotations

from modelship.deploy.kubernetes._dry_run import _printable


def test_a_live_annotation_named_as_a_credential_is_masked_in_a_server_side_dry_run() -> None:
    # What a server-side dry-run answers: the live object, with annotations other tools
    # put there. Masking value by value missed the ones whose value alone looks plain.
    live = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "modelship-blue",
            "annotations": {
                "example.com/api-token": "s3cr3t-token-value",
                "ci.example.com/deploy-password": "hunter2hunter2",
                "modelship.io/weights": '{"blue": 100}',
            },
        },
        "spec": {
            "template": {
                "metadata": {
                    "annotations": {"vault.hashicorp.com/agent-inject-token": "hvs.CAESIabcdef"}
                },
                "spec": {"containers": [{"name": "m", "image": "x:1"}]},
            }
        },
    }
    shown = _printable([live])
    for secret in ("s3cr3t-token-value", "hunter2hunter2", "hvs.CAESIabcdef"):
        assert secret not in shown
    assert '{"blue": 100}' in shown  # ours, not a credential: shown as it is
