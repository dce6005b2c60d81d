"""Review 42: ``modelship deploy`` and ``monitor watch`` read the alias they are given and
refuse options they would ignore; ``check degradation`` refuses ``--threshold`` with
``--task regression`` as ``check bias`` does; ``deploy history`` prints strict JSON."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest

import modelship as ms
from modelship.cli import main as cli
from modelship.deploy import BlueGreen
from modelship.deploy._cli import main, roll_alias_back
from modelship.errors import InvalidName
from modelship.testing import InMemoryDeployer


@pytest.fixture
def root(tmp_path: Path) -> str:
    """A registry where production got version 1, then staging version 3 (one history)."""
    url = str(tmp_path / "reg")
    reg = ms.open_registry(url)
    for _ in range(3):
        reg.register(model_name="fraud", model=functools.partial(np.sum, axis=1))
    dep = InMemoryDeployer(registry=reg)
    BlueGreen(dep, clock=dep.clock, alias="production").deploy("fraud", "1")
    BlueGreen(dep, clock=dep.clock, alias="staging").deploy("fraud", "3")
    assert reg.aliases("fraud") == {"production": "1", "staging": "3"}
    return url


def watch_briefly(root: str, *options: str) -> int:
    """``monitor watch`` of fraud in ``root`` for 0.4 s against a source that never answers
    (127.0.0.1:9), with ``options``: its exit code."""
    argv = ["monitor", "watch", "http://127.0.0.1:9", "--registry", root, "--model", "fraud"]
    timing = ["--interval", "0.2", "--duration", "0.4", "--timeout", "0.2"]
    return cli([*argv, *options, "-c", "error_rate > 1%", *timing])


def test_status_shows_the_last_rollout_of_its_alias_not_another_environments(
    root: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", root, "fraud", "--alias", "production"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["version"], status["last_rollout"]["version"]) == ("1", "1")
    assert main(["status", root, "fraud", "--alias", "staging"]) == 0
    assert json.loads(capsys.readouterr().out)["last_rollout"]["version"] == "3"


@pytest.mark.parametrize(
    "argv",
    [
        ["rollback", "{root}", "fraud", "--alias", "../x"],  # said "nothing to roll back", 1
        ["status", "{root}", "fraud", "--alias", "../x"],  # exit 0
        # Started a model server first, then aborted after 3 tries ("7" does not exist
        # here: the old code stopped at that, exit 2, but only after opening the registry).
        ["apply", "{root}", "fraud", "7", "--alias", "../x", "--for", "0"],
    ],
)
def test_an_alias_the_registry_refuses_is_a_usage_error(
    root: str, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([a.format(root=root) for a in argv])
    assert exited.value.code == 2
    assert "argument --alias: alias '../x' is not allowed" in capsys.readouterr().err
    assert ms.open_registry(root).aliases("fraud") == {"production": "1", "staging": "3"}


def test_roll_alias_back_refuses_a_name_no_alias_can_have(root: str) -> None:
    with pytest.raises(InvalidName, match=r"'\.\./x' is not allowed"):
        roll_alias_back(root, "fraud", "../x")


def test_an_alias_with_its_at_sign_names_the_alias(
    root: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", root, "fraud", "--alias", "@staging"]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == "3"


def test_monitor_watch_refuses_a_malformed_alias_as_a_usage_error(
    root: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["monitor", "watch", "http://127.0.0.1:9", "--registry", root, "--model", "fraud"]
    with pytest.raises(SystemExit) as exited:
        cli([*argv, "--alias", "../x", "-c", "error_rate > 1%"])
    assert exited.value.code == 2
    assert "argument --alias: alias '../x' is not allowed" in capsys.readouterr().err


def test_monitor_watch_of_an_alias_naming_no_version_and_no_slot_is_refused_before_watching(
    root: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = watch_briefly(root, "--alias", "prod")
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""  # nothing evaluated
    assert "the alias prod of fraud names no version" in err
    assert "production -> 1, staging -> 3" in err  # the aliases there are


def test_monitor_watch_of_an_alias_naming_no_version_with_a_slot_says_so_at_once_and_watches(
    root: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # A watch started beside a first deploy, before the deploy moves the alias, is still a
    # gate on --slot; a typo ('prod') is said at the start, not only at a rollback.
    code = watch_briefly(root, "--alias", "prod", "--slot", "blue")
    out, err = capsys.readouterr()
    first = err.splitlines()[0]
    assert "the alias prod of fraud names no version" in first
    assert "production -> 1, staging -> 3" in first
    assert "--slot blue is watched" in first
    assert out  # it watched: evaluations were printed
    assert code == 2  # the source at 127.0.0.1:9 never answered: nothing was judged


def test_monitor_watch_refuses_an_alias_without_registry_and_model(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = cli(
        [
            "monitor", "watch", "http://127.0.0.1:9", "--slot", "blue", "--alias", "staging",
            "-c", "error_rate > 1%", "--interval", "0.2", "--duration", "0.4",
            "--timeout", "0.2",
        ]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""  # it used to watch, the alias unread (no rollback moves one)
    assert "--alias staging: the alias a rollback moves back, which needs --registry" in err


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--namespace", "prod"], "--namespace: for the Kubernetes objects --dry-run prints"),
        (["--slot", "green"], "--slot: for the Kubernetes objects"),
        (["--image", "reg.example/x:1"], "--image: for the Kubernetes objects"),
        (["--app", "other"], "--app: for the Kubernetes objects"),
        (["--kubeconfig", "/nonexistent", "--context", "x"], "--kubeconfig, --context: for"),
    ],
)
def test_apply_without_dry_run_refuses_the_options_of_dry_run(
    root: str, capsys: pytest.CaptureFixture[str], extra: list[str], named: str
) -> None:
    # Served locally before, the option ignored: refused now before the registry is read
    # (version 7 does not exist: reading it would be exit 2 with another message).
    assert main(["apply", root, "fraud", "7", "--for", "0", *extra]) == 2
    err = capsys.readouterr().err
    assert named in err
    assert "no version" not in err


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--kubeconfig", "/nonexistent"], "--kubeconfig: for --dry-run=server only"),
        (["--context", "nope"], "--context: for --dry-run=server only"),
        (["--for", "5", "--poll", "3"], "--for, --poll: for a deployment that serves"),
        (["--undo-window", "1"], "--undo-window: for a deployment that serves"),
        (["--progress-deadline", "1"], "--progress-deadline: for a deployment"),
        (["--alias", "staging"], "--alias: for a deployment that serves"),
        # The objects printed are those of the rollout done, whichever the strategy: it
        # used to say "using the default steps" and print the same objects.
        (["--strategy", "canary"], "which this option does not change"),
    ],
)
def test_a_client_dry_run_refuses_the_options_it_does_not_read(
    root: str, capsys: pytest.CaptureFixture[str], extra: list[str], named: str
) -> None:
    argv = ["apply", root, "fraud", "2", "--dry-run", "--image", "reg.example/ms:1"]
    assert main([*argv, *extra]) == 2
    captured = capsys.readouterr()
    assert named in captured.err
    assert captured.out == ""


def test_a_dry_run_refuses_image_with_a_spec_whose_containers_name_theirs(
    root: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "deployment:\n  containers:\n    - name: model-service\n      image: a:${VERSION}\n"
    )
    argv = ["apply", root, "fraud", "2", "--dry-run", "--spec", str(spec)]
    assert main([*argv, "--image", "reg.example/IGNORED:1"]) == 2
    assert "--image gives the image when there is no --spec" in capsys.readouterr().err


def test_a_dry_run_still_reads_its_own_options(
    root: str, capsys: pytest.CaptureFixture[str]
) -> None:
    yaml = pytest.importorskip("yaml")
    argv = ["apply", root, "fraud", "2", "--dry-run", "--image", "reg.example/ms:1"]
    assert main([*argv, "--namespace", "models", "--slot", "green", "--app", "fr"]) == 0
    objects = list(yaml.safe_load_all(capsys.readouterr().out))
    assert {o["metadata"]["namespace"] for o in objects} == {"models"}
    assert objects[0]["metadata"]["name"] == "fr-green"
    assert main(argv) == 0  # and the defaults when not given
    objects = list(yaml.safe_load_all(capsys.readouterr().out))
    assert (objects[0]["metadata"]["namespace"], objects[0]["metadata"]["name"]) == (
        "default",
        "fraud-blue",
    )


def test_history_prints_a_number_beyond_float_range_as_null(
    root: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Records are unsigned store files: one may hold any number JSON can spell.
    path = sorted((Path(root) / "deployments" / "fraud").glob("*.json"))[0]
    record = json.loads(path.read_text())
    record["events"][0]["data"]["replicas_seen"] = 7.25
    path.write_text(json.dumps(record).replace("7.25", "1e400", 1))

    assert main(["history", root, "fraud", "--events"]) == 0
    out = capsys.readouterr().out

    def refuse(constant: str) -> None:
        raise AssertionError(f"not JSON: {constant}")

    printed = json.loads(out, parse_constant=refuse)  # it printed Infinity
    assert printed[0]["events"][0]["data"]["replicas_seen"] is None


def _holdout(tmp_path: Path) -> str:
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    s = y + rng.normal(0, 0.1, size=200)
    rows = "\n".join(f"{a:.6f},{b:.6f}" for a, b in zip(y, s, strict=True))
    path = tmp_path / "holdout.csv"
    path.write_text("y,s\n" + rows + "\n")
    return str(path)


def test_degradation_refuses_threshold_with_regression_as_bias_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["check", "degradation", "--data", _holdout(tmp_path), "--label", "y"]
    argv += ["--candidate", "s", "--baseline", "s", "--task", "regression"]
    assert cli([*argv, "--threshold", "0.9"]) == 2  # it passed, the threshold unread
    assert "--task regression has no labels: drop --threshold" in capsys.readouterr().out
    assert cli(argv) == 0  # without it, as before


def test_a_strategy_takes_the_alias_as_the_registry_names_it_and_refuses_a_bad_one_when_built() -> (
    None
):
    # "@production" made every deploy after the first abort ("someone else moved it");
    # "../x" was refused by the registry only after traffic had moved.
    import functools

    import numpy as np

    import modelship as ms
    from modelship.deploy import BlueGreen
    from modelship.errors import ConfigError
    from modelship.testing import InMemoryDeployer

    reg = ms.open_registry("memory://review42-strategy-alias")
    for _ in range(2):
        reg.register(model_name="fraud", model=functools.partial(np.sum, axis=1))
    dep = InMemoryDeployer(registry=reg)
    strategy = BlueGreen(dep, clock=dep.clock, alias="@production")
    assert strategy.alias == "production"
    for version in ("1", "2"):
        assert strategy.deploy("fraud", version).status.value == "succeeded"
    assert reg.aliases("fraud") == {"production": "2"}
    with pytest.raises(ConfigError, match=r"alias: alias '\.\./x' is not allowed"):
        BlueGreen(dep, clock=dep.clock, alias="../x")
    assert reg.aliases("fraud") == {"production": "2"}  # nothing moved


def test_a_record_that_says_its_alias_with_an_at_sign_is_that_alias_s() -> None:
    # Records written by strategies that kept "@production" as given: `deploy status` and
    # `deploy rollback` of production must still find them.
    from datetime import datetime, timezone

    from modelship.deploy._record import EventKind, RolloutEvent, RolloutRecord, RolloutStatus
    from modelship.deploy._rollout import same_alias

    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    record = RolloutRecord(
        id="r1", model="fraud", version="1", strategy="blue-green",
        status=RolloutStatus.SUCCEEDED, slot="blue", previous_version=None,
        previous_slot=None, started_at=when,
        events=(RolloutEvent(when, EventKind.STARTED, "started", {"alias": "@production"}),),
    )  # fmt: skip
    assert same_alias(record, "production") is True
    assert same_alias(record, "staging") is False


def test_monitor_watch_of_a_slot_another_version_once_served_with_no_alias_still_watches(
    root: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # production's rollout once put version 1 into blue; the alias was then removed and a
    # new first deploy into blue is watched: the warning promised a watch, and the slot's
    # old record then refused it ("the alias production names None").
    ms.open_registry(root).remove_alias("fraud", "production")
    code = watch_briefly(root, "--alias", "production", "--slot", "blue")
    out, err = capsys.readouterr()
    assert "--slot blue is watched" in err
    assert "does not serve the version watched" not in err
    assert out  # it watched
    assert code == 2  # the source never answered
