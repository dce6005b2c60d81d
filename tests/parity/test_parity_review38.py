"""Review 38: namespace packages pin only the distribution referenced, a model size that
cannot be checked is said, dates in another unit and numpy scalars in object columns
match, ``--strict`` reports say their verdict, behaviour records refuse what they
cannot write, allow-listed variables unset in training, column order, byte order."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import numpy as np
import pytest

from modelship.checks import Severity
from modelship.errors import ConfigError
from modelship.parity import (
    ArtifactScan,
    BehaviourRecord,
    EnvironmentSnapshot,
    Finding,
    ParityReport,
    ResourceRequest,
    SnapshotError,
    compare,
    compare_behaviour,
    fingerprint_preprocessing,
    record_behaviour,
    requirements_txt,
    resolve_requirements,
)
from modelship.parity._cli import main

# --- 1. a namespace package pins only the distribution whose module is referenced --------


def _dist(site: Path, name: str, version: str, files: list[str], *, record: bool = True) -> None:
    """Install ``files`` (empty modules) into ``site`` as distribution ``name``: with a
    wheel's RECORD, or (``record=False``) as an egg, whose top_level.txt names them."""
    for file in files:
        path = site / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("", encoding="utf-8")
    folder = site / (
        f"{name.replace('-', '_')}-{version}" + (".dist-info" if record else ".egg-info")
    )
    folder.mkdir()
    header = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    if record:
        (folder / "METADATA").write_text(header, encoding="utf-8")
        rows = [*files, f"{folder.name}/METADATA"]
        (folder / "RECORD").write_text("".join(f"{row},,\n" for row in rows), encoding="utf-8")
    else:
        (folder / "PKG-INFO").write_text(header, encoding="utf-8")
        tops = sorted({file.split("/", 1)[0].removesuffix(".py") for file in files})
        (folder / "top_level.txt").write_text("\n".join(tops) + "\n", encoding="utf-8")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A site directory on sys.path: a namespace package ``acme38`` of two
    distributions, a regular package ``foo38`` another distribution adds a plugin module
    to, and an egg ``legacy38`` without a RECORD."""
    root = tmp_path / "site"
    root.mkdir()
    _dist(root, "acme38-models", "1.2.0", ["acme38/models/__init__.py", "acme38/models/core.py"])
    _dist(root, "acme38-unrelated", "0.3.0", ["acme38/unrelated/__init__.py"])
    _dist(root, "foo38-core", "2.0.0", ["foo38/__init__.py", "foo38/core.py"])
    _dist(root, "foo38-plugin", "0.1.0", ["foo38/plugin.py"])
    _dist(root, "legacy38", "4.0", ["legacy38/__init__.py"], record=False)
    monkeypatch.syspath_prepend(str(root))
    return root


def test_a_namespace_package_pins_only_the_distribution_referenced(site: Path) -> None:
    scan = ArtifactScan(globals=[("acme38.models", "Model"), ("acme38.models.core", "Fn")])
    reqs = resolve_requirements(scan)
    assert dict(reqs) == {"acme38-models": "1.2.0"}
    assert reqs.modules == ("acme38",)
    assert reqs.unresolved == ()
    assert "acme38-unrelated" not in requirements_txt(reqs)


def test_production_without_the_unrelated_distribution_passes(
    site: Path, snapshot: EnvironmentSnapshot
) -> None:
    reqs = resolve_requirements(ArtifactScan(globals=[("acme38.models", "Model")]))
    train = attrs.evolve(snapshot, packages={"acme38-models": "1.2.0", "acme38-unrelated": "0.3.0"})
    prod = attrs.evolve(train, packages={"acme38-models": "1.2.0"})
    report = compare(train, prod, requirements=reqs)
    assert report.passed, report.summary()
    assert report.findings == ()


def test_a_module_in_another_distributions_package_pins_its_own(site: Path) -> None:
    # foo38.core is foo38-core's; foo38.plugin was installed into that package by
    # foo38-plugin: the longest enclosing path decides.
    assert dict(resolve_requirements(ArtifactScan(globals=[("foo38.core", "A")]))) == {
        "foo38-core": "2.0.0"
    }
    assert dict(resolve_requirements(ArtifactScan(globals=[("foo38.plugin", "B")]))) == {
        "foo38-plugin": "0.1.0"
    }
    # A name the package's own __init__ defines (or a module not installed) is its own.
    assert dict(resolve_requirements(ArtifactScan(globals=[("foo38", "C")]))) == {
        "foo38-core": "2.0.0"
    }


def test_a_module_no_record_lists_is_found_by_its_top_level_name(site: Path) -> None:
    reqs = resolve_requirements(ArtifactScan(globals=[("legacy38.sub", "Thing")]))
    assert dict(reqs) == {"legacy38": "4.0"}


def test_a_dotted_entry_of_the_distributions_argument_is_the_longest_prefix() -> None:
    scan = ArtifactScan(globals=[("acme39.models.core", "Model")])
    given = {"acme39": ["numpy", "attrs"], "acme39.models": ["numpy"]}
    reqs = resolve_requirements(scan, distributions=given)
    assert list(reqs) == ["numpy"]


# --- 2. a model size that cannot be checked is a finding --------------------------------


def test_a_model_size_without_any_memory_is_said_not_to_be_checked() -> None:
    snap = EnvironmentSnapshot(
        python_version="3.11.7", python_implementation="CPython", os="Darwin", machine="arm64"
    )
    assert snap.memory is None
    [finding] = compare(snap, snap, resources=ResourceRequest(model_size="50Gi")).findings
    [memory] = compare(snap, snap, resources=ResourceRequest(memory="1Gi")).findings
    assert finding.check == memory.check == "resources"
    assert finding.severity is memory.severity
    assert "the model size cannot be checked" in finding.message
    assert "request memory" in finding.message
    assert finding.subject == "model_size"


def test_a_model_size_with_a_memory_request_is_checked_against_it() -> None:
    snap = EnvironmentSnapshot(
        python_version="3.11.7", python_implementation="CPython", os="Darwin", machine="arm64"
    )
    request = ResourceRequest(model_size="1Gi", memory="2Gi")
    # Only the memory request is unconfirmed; the model fits in what is requested.
    [finding] = compare(snap, snap, resources=request).findings
    assert "memory requested" in finding.message


# --- 3, 4. dates in another unit; numpy scalars in columns of objects -------------------

_DAYS = np.array(["2024-01-01T00:00:00", "NaT", "2024-06-01T12:00:00"], dtype="M8[ns]")


def _dates(data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {"day": data["t"]}


def test_the_same_instants_in_another_unit_match() -> None:
    record = record_behaviour(_dates, {"t": _DAYS})
    assert compare_behaviour(record, lambda d: {"day": d["t"].astype("M8[us]")}) == ()
    assert compare_behaviour(record, lambda d: {"day": d["t"].astype("M8[s]")}) == ()


def test_other_instants_and_durations_still_differ() -> None:
    record = record_behaviour(_dates, {"t": _DAYS})
    later = compare_behaviour(
        record, lambda d: {"day": d["t"].astype("M8[us]") + np.timedelta64(1, "us")}
    )
    assert [f.subject for f in later] == ["day"]
    assert "2 of 3 rows differ" in later[0].message  # NaT + 1us is NaT: still equal
    durations = compare_behaviour(record, lambda d: {"day": d["t"] - d["t"]})
    assert "3 of 3 rows differ" in durations[0].message
    numbers = compare_behaviour(record, lambda d: {"day": d["t"].view("int64")})
    assert "3 of 3 rows differ" in numbers[0].message
    # The same integers of nanoseconds, as a duration: still not the dates.
    same_ints = compare_behaviour(record, lambda d: {"day": d["t"].view("m8[ns]")})
    assert "3 of 3 rows differ" in same_ints[0].message


def test_numpy_floats_in_a_column_of_objects_match_a_float_column() -> None:
    record = record_behaviour(lambda a: a * 1.0, np.array([1.0, 2.0]))

    def objects(values: list[object]) -> np.ndarray:
        column = np.empty(len(values), dtype=object)
        column[:] = values
        return column

    same = [np.float64(1.0), np.float64(2.0)]
    assert compare_behaviour(record, lambda a: objects(same)) == ()
    close = [np.float64(1.0 + 1e-9), 2.0]
    assert compare_behaviour(record, lambda a: objects(close)) == ()
    far = [np.float64(1.5), 2.0]
    assert "1 of 2 rows differ" in compare_behaviour(record, lambda a: objects(far))[0].message
    booleans = [True, np.float64(2.0)]  # True is no number here
    assert "1 of 2 rows differ" in compare_behaviour(record, lambda a: objects(booleans))[0].message


def test_huge_integers_in_a_column_of_objects_are_compared_exactly() -> None:
    big = 2**70
    column = np.empty(2, dtype=object)
    column[:] = [big, "x"]
    record = record_behaviour(lambda a: column, np.zeros(2))
    other = np.empty(2, dtype=object)
    other[:] = [big + 1, "x"]
    assert compare_behaviour(record, lambda a: other, rtol=0.0, atol=0.0)[0].subject == "0"
    assert compare_behaviour(record, lambda a: other, rtol=0.0, atol=1.0) == ()


# --- 5. --strict reports carry the run's verdict ----------------------------------------


def _snapshots(tmp_path: Path, snapshot: EnvironmentSnapshot) -> tuple[Path, Path]:
    train, prod = tmp_path / "train.json", tmp_path / "prod.json"
    train.write_text(snapshot.to_json(), encoding="utf-8")
    prod.write_text(attrs.evolve(snapshot, os="Darwin").to_json(), encoding="utf-8")  # advisory
    return train, prod


def test_a_strict_report_says_it_failed(
    tmp_path: Path, snapshot: EnvironmentSnapshot, capsys: pytest.CaptureFixture[str]
) -> None:
    train, prod = _snapshots(tmp_path, snapshot)
    report, suite = tmp_path / "report.json", tmp_path / "suite.json"
    args = ["check", "--snapshot", str(train), "--against", str(prod), "--report", str(report)]
    assert main([*args, "--strict", "--json", str(suite)]) == 1
    written = json.loads(report.read_text(encoding="utf-8"))
    assert written["passed"] is False
    assert written["strict"] is True
    assert json.loads(suite.read_text(encoding="utf-8"))["passed"] is False
    assert ParityReport.from_json(report.read_text(encoding="utf-8")).passes(strict=True) is False
    assert main(args) == 0
    written = json.loads(report.read_text(encoding="utf-8"))
    assert written["passed"] is True
    assert "strict" not in written
    capsys.readouterr()


def test_a_report_passed_is_judged_by_its_strict_field() -> None:
    advisory = ParityReport([Finding(check="os", severity="advisory", message="m")])
    assert ParityReport.from_json(advisory.to_json(strict=True)) == advisory
    doc = advisory.to_dict(strict=True)
    doc["passed"] = True  # a strict run with a finding did not pass
    with pytest.raises(SnapshotError, match="'passed' is True, but its findings say False"):
        ParityReport.from_json(json.dumps(doc))
    doc["strict"] = "yes"
    with pytest.raises(SnapshotError, match="'strict' must be true or false"):
        ParityReport.from_json(json.dumps(doc))
    # A report written before 'strict' existed reads as it did.
    old = (
        '{"schema_version": 1, "passed": true, "findings": ['
        + json.dumps(advisory.findings[0].to_dict())
        + "]}"
    )
    assert ParityReport.from_json(old) == advisory
    with pytest.raises(ConfigError, match="strict must be True or False"):
        advisory.passes(strict="yes")  # type: ignore[arg-type]


# --- 6, 7. behaviour records refuse what they cannot write; ragged samples --------------


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"a": [1, 2]}, "inputs column 'a' must be a 1-D numpy array, got list"),
        (None, "inputs must be a mapping of column name to 1-D numpy array"),
        ({"a": np.zeros((2, 2))}, "inputs column 'a' must be a 1-D numpy array, got a 2-D"),
        ({"a": np.array([1 + 2j])}, "column 'a' has dtype complex128"),
        ({1: np.zeros(2)}, "inputs has the column name 1"),
    ],
)
def test_a_record_refuses_what_it_cannot_write(inputs: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        BehaviourRecord(kind="mapping", inputs=inputs, outputs={})  # type: ignore[arg-type]


def test_a_record_refuses_outputs_it_cannot_write() -> None:
    objects = np.empty(1, dtype=object)
    objects[0] = {"x": 1}
    with pytest.raises(ConfigError, match="outputs column 'b' holds a dict"):
        BehaviourRecord(kind="mapping", inputs={"a": np.zeros(1)}, outputs={"b": objects})


@pytest.mark.parametrize("sample", [[[1, 2], [3]], {"a": [[1], [2, 3]]}])
def test_a_ragged_sample_is_refused_by_name(sample: object) -> None:
    with pytest.raises(ConfigError, match=r"the canary sample .*cannot be read as an array"):
        record_behaviour(lambda x: x, sample)


# --- 8. a variable the allow-list names, unset in training ------------------------------


def test_a_listed_variable_unset_in_training_is_compared_with_this_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MODELSHIP_REVIEW38_FLAG", raising=False)
    train = EnvironmentSnapshot.capture(env_allowlist=["MODELSHIP_REVIEW38_FLAG", "OMP_*"])
    monkeypatch.setenv("MODELSHIP_REVIEW38_FLAG", "1")
    found = [f for f in compare(train).findings if f.check == "env"]
    assert [(f.subject, f.train, f.prod) for f in found] == [("MODELSHIP_REVIEW38_FLAG", None, "1")]


# --- 9. column order; byte order -----------------------------------------------------------


def test_columns_in_another_order_are_said_to_be() -> None:
    record = record_behaviour(lambda d: {"a": d["x"], "b": d["x"]}, {"x": np.arange(2)})
    [finding] = compare_behaviour(record, lambda d: {"b": d["x"], "a": d["x"]})
    assert finding.message == (
        "the output columns are in another order: ['a', 'b'] in training, ['b', 'a'] in production"
    )
    assert finding.severity is Severity.BLOCKING
    [other] = compare_behaviour(record, lambda d: {"a": d["x"], "c": d["x"]})
    assert "['a', 'b'] and ['a', 'c']" in other.message


def test_big_endian_values_have_the_fingerprint_of_the_same_native_values() -> None:
    values = {"w": np.array([1.0, 2.5, -3.0]), "k": np.arange(4, dtype=np.int32)}
    swapped = {key: value.astype(value.dtype.newbyteorder(">")) for key, value in values.items()}
    assert fingerprint_preprocessing(swapped) == fingerprint_preprocessing(values)


def test_native_fingerprints_are_those_older_versions_recorded() -> None:
    # Computed by modelship before byte order was normalised: must never change.
    value = {
        "w": np.array([1.0, 2.5, -3.0]),
        "k": np.arange(4, dtype=np.int32),
        "s": np.array(["a", "bc"]),
    }
    assert fingerprint_preprocessing(value).digest == (
        "sha256:ba238ad32658c1ed64b37e23b0b1a83479f54f3b37589fb69703541554f257c1"
    )


def test_an_editable_subpackage_of_a_namespace_with_an_init_is_pinned_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # acme40-core installs acme40/__init__.py (a pkgutil-style namespace) from a wheel;
    # acme40-models is an editable install: its RECORD lists only its .pth and finder,
    # its top_level.txt names acme40. The longest RECORD match, acme40, is only an
    # enclosing package: the editable distribution was left out, unwarned (second look).
    root = tmp_path / "site"
    root.mkdir()
    _dist(root, "acme40-core", "1.0", ["acme40/__init__.py", "acme40/core.py"])
    folder = root / "acme40_models-2.0.dist-info"
    folder.mkdir()
    (folder / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: acme40-models\nVersion: 2.0\n", encoding="utf-8"
    )
    (folder / "RECORD").write_text(
        "__editable__.acme40_models-2.0.pth,,\nacme40_models-2.0.dist-info/METADATA,,\n",
        encoding="utf-8",
    )
    (folder / "top_level.txt").write_text("acme40\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(root))
    reqs = resolve_requirements(ArtifactScan(globals=[("acme40.models.churn", "ChurnModel")]))
    assert dict(reqs) == {"acme40-core": "1.0", "acme40-models": "2.0"}
    # A module a RECORD lists (or its package) is still pinned alone.
    assert dict(resolve_requirements(ArtifactScan(globals=[("acme40.core", "A")]))) == {
        "acme40-core": "1.0"
    }
