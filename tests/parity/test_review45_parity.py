"""Review 45 of parity: a function is fingerprinted by what tells it from another (its
captured values, defaults and, for a lambda or a local function, its code's names and
constants), a lone surrogate in an environment value is refused without quoting the
value, and a cgroup limit set on a parent group is the limit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelship.errors import ConfigError
from modelship.parity import EnvironmentSnapshot, SnapshotError, fingerprint_preprocessing
from modelship.parity._snapshot import _Cgroups

# fingerprint_preprocessing({"f": [random.random, random.gauss]}) before the bound-method
# change (045e169^).
OLD_RANDOM_DIGEST = "sha256:18881cf81d7c51d485066e0a478ecb457ba3432ee58eaf525f7de5e9fcf64cfa"


def make_clipper(lo: float, hi: float) -> Callable[[Any], Any]:
    def clip(x: Any) -> Any:
        return np.clip(x, lo, hi)

    return clip


class FunctionHolder:
    """Like scikit-learn's FunctionTransformer: the function is a parameter."""

    def __init__(self, func: Callable[[Any], Any]) -> None:
        self.func = func

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"func": self.func}


LOG1P = lambda x: x + 1.0  # noqa: E731 - two module-level lambdas are the case
IDENTITY = lambda x: x  # noqa: E731


def digest(obj: object) -> str:
    return fingerprint_preprocessing(obj).digest


def test_two_closures_capturing_different_values_have_different_digests() -> None:
    assert digest([make_clipper(0, 10)]) != digest([make_clipper(0, 5)])


def test_the_same_closure_made_twice_with_equal_values_has_one_digest() -> None:
    assert digest([make_clipper(0, 10)]) == digest([make_clipper(0, 10)])


def test_two_different_lambdas_in_one_module_have_different_digests() -> None:
    assert LOG1P.__qualname__ == IDENTITY.__qualname__ == "<lambda>"
    assert digest([LOG1P]) != digest([IDENTITY])


def test_a_function_holder_differs_by_the_values_its_function_captured() -> None:
    trained = fingerprint_preprocessing(FunctionHolder(make_clipper(0, 10)))
    served = fingerprint_preprocessing(FunctionHolder(make_clipper(0, 5)))
    assert trained.diff(served) == ("params.func",)
    assert fingerprint_preprocessing(FunctionHolder(make_clipper(0, 10))) == trained


def test_a_function_holder_differs_by_its_lambda() -> None:
    assert digest(FunctionHolder(LOG1P)) != digest(FunctionHolder(IDENTITY))


def test_a_local_function_with_other_defaults_has_another_digest() -> None:
    def make(factor: float) -> Callable[..., Any]:
        def scale(x: Any, by: float = factor) -> Any:
            return x * by

        return scale

    assert digest([make(2.0)]) != digest([make(3.0)])
    assert digest([make(2.0)]) == digest([make(2.0)])


def test_a_module_function_keeps_the_digest_stored_before() -> None:
    # Written by modelship before functions were told apart by what they captured.
    assert digest([json.dumps, np.log1p, np.clip]) == (
        "sha256:da3fd1b6f35d2a9ff7ae9a91eb3ac8b1f275b0b273d32389eb9dcb4b1ea8d14e"
    )


def test_a_lambda_has_the_same_digest_in_processes_with_other_string_hashing() -> None:
    code = (
        "from modelship.parity import fingerprint_preprocessing as f\n"
        "print(f([lambda x: x in {'a', 'b', 'c', 'd'} and x * 2.5]).digest)"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(digests) == 1
    assert next(iter(digests)).startswith("sha256:")


def test_a_local_function_that_calls_itself_is_fingerprinted() -> None:
    def make(limit: int) -> Callable[[int], int]:
        def countdown(n: int) -> int:
            return n if n <= limit else countdown(n - 1)

        return countdown

    assert digest([make(1)]) == digest([make(1)])
    assert digest([make(1)]) != digest([make(2)])


def test_a_closure_over_a_value_without_stable_description_raises_config_error() -> None:
    lock = threading.Lock()

    def guarded(x: Any) -> Any:
        with lock:
            return x

    with pytest.raises(ConfigError, match=r"captured as 'lock'.*no stable description"):
        fingerprint_preprocessing([guarded])


SECRET = "hunter2"


def snapshot_text(env: dict[str, str]) -> str:
    base = json.loads(
        EnvironmentSnapshot(
            python_version="3.11.7", python_implementation="CPython", os="Linux", machine="x86_64"
        ).to_json()
    )
    base["env"] = env
    return json.dumps(base)  # ensure_ascii: a lone surrogate is valid JSON as "\udcff"


def test_a_lone_surrogate_in_an_env_value_is_refused_naming_the_key_only() -> None:
    text = snapshot_text({"PGCONN": f"host=db password={SECRET}\udcff"})
    with pytest.raises(SnapshotError) as caught:
        EnvironmentSnapshot.from_json(text)
    message = str(caught.value)
    assert "'env'['PGCONN']" in message
    assert "lone surrogate" in message
    assert SECRET not in message
    assert "host=db" not in message


def test_a_lone_surrogate_in_an_env_name_is_refused() -> None:
    with pytest.raises(SnapshotError, match="lone surrogate"):
        EnvironmentSnapshot.from_json(snapshot_text({"PG\udcffCONN": "x"}))


def cgroup_tree(tmp_path: Path, membership: str, files: dict[str, str]) -> _Cgroups:
    (tmp_path / "self-cgroup").write_text(membership)
    for relative, text in files.items():
        path = tmp_path / "cg" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    return _Cgroups(root=tmp_path / "cg", membership=tmp_path / "self-cgroup")


def test_cgroup_v2_limits_set_on_a_parent_group_are_the_limits(tmp_path: Path) -> None:
    groups = cgroup_tree(
        tmp_path,
        "0::/kubepods.slice/pod1.slice/ctr.scope\n",
        {
            "cgroup.controllers": "cpu memory",
            "kubepods.slice/pod1.slice/memory.max": "1073741824",
            "kubepods.slice/pod1.slice/cpu.max": "50000 100000",
            "kubepods.slice/pod1.slice/ctr.scope/memory.max": "max",
            "kubepods.slice/pod1.slice/ctr.scope/cpu.max": "max 100000",
        },
    )
    assert groups.memory_limit() == 2**30
    assert groups.cpu_limit() == 0.5


def test_cgroup_v2_the_smallest_limit_along_the_ancestry_is_the_limit(tmp_path: Path) -> None:
    groups = cgroup_tree(
        tmp_path,
        "0::/a/b/c\n",
        {
            "a/memory.max": str(4 * 2**30),
            "a/cpu.max": "400000 100000",
            "a/b/memory.max": str(2**30),
            "a/b/cpu.max": "max 100000",
            "a/b/c/memory.max": str(2 * 2**30),
            "a/b/c/cpu.max": "150000 100000",
        },
    )
    assert groups.memory_limit() == 2**30
    assert groups.cpu_limit() == 1.5


def test_cgroup_v1_limits_set_on_a_parent_group_are_the_limits(tmp_path: Path) -> None:
    groups = cgroup_tree(
        tmp_path,
        "4:memory:/kubepods/pod1/ctr\n2:cpu,cpuacct:/kubepods/pod1/ctr\n",
        {
            "memory/kubepods/pod1/memory.limit_in_bytes": "536870912",
            "memory/kubepods/pod1/ctr/memory.limit_in_bytes": str(2**63 - 4096),
            "cpu,cpuacct/kubepods/pod1/cpu.cfs_quota_us": "50000",
            "cpu,cpuacct/kubepods/pod1/cpu.cfs_period_us": "100000",
            "cpu,cpuacct/kubepods/pod1/ctr/cpu.cfs_quota_us": "-1",
            "cpu,cpuacct/kubepods/pod1/ctr/cpu.cfs_period_us": "100000",
        },
    )
    assert groups.memory_limit() == 512 * 2**20
    assert groups.cpu_limit() == 0.5


def test_a_cgroup_path_leaving_the_mount_reads_the_mount_only(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "memory.max").write_text("1024\n")
    groups = cgroup_tree(tmp_path, "0::/../outside\n", {"memory.max": "max"})
    assert groups.memory_limit() is None


def make_log(column: str) -> Callable[[Any], Any]:
    import numpy  # a local import the lambda captures: the case

    return lambda frame: numpy.log1p(frame[column])


def test_a_lambda_that_captured_a_module_is_fingerprinted_by_the_module_name() -> None:
    assert digest(FunctionHolder(make_log("amount"))) == digest(FunctionHolder(make_log("amount")))
    assert digest(FunctionHolder(make_log("amount"))) != digest(FunctionHolder(make_log("age")))


class Shift:
    def __init__(self, by: float) -> None:
        self.by = by

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"by": self.by}

    def transform(self, x: Any) -> Any:
        return x + self.by


def make_scaled(transform: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda x: transform(x) * 2


def test_closures_capturing_the_bound_methods_of_two_fitted_objects_differ() -> None:
    a, b = Shift(1.0).transform, Shift(500.0).transform
    assert digest(FunctionHolder(make_scaled(a))) != digest(FunctionHolder(make_scaled(b)))
    assert digest(FunctionHolder(make_scaled(a))) == digest(
        FunctionHolder(make_scaled(Shift(1.0).transform))
    )


def test_closures_capturing_the_get_of_two_mappings_differ() -> None:
    first, second = {"a": 1}, {"a": 99}
    assert digest(FunctionHolder(make_scaled(first.get))) != digest(
        FunctionHolder(make_scaled(second.get))
    )
    assert digest(first.get) == digest({"a": 1}.get)


def test_a_method_bound_to_an_object_with_no_stable_description_is_refused() -> None:
    lock = threading.Lock()
    with pytest.raises(ConfigError, match=r"captured as 'transform' has no stable description"):
        fingerprint_preprocessing(FunctionHolder(make_scaled(lock.acquire)))


def test_builtins_classes_and_class_bound_methods_keep_the_digest_stored_before() -> None:
    import collections
    import datetime
    import fractions
    import math

    # Written by modelship before methods were told apart by the instance they are bound
    # to: a builtin's __self__ is its module, a classmethod's its class, np.random.rand's
    # the global generator; none of them is an instance with a description of its own.
    pinned = [
        math.log,
        len,
        np.log1p,
        collections.OrderedDict,
        datetime.datetime.fromtimestamp,
        dict.fromkeys,
        np.random.rand,
        fractions.Fraction.from_float,
    ]
    assert digest(pinned) == (
        "sha256:e47f63ca649e776d5657cd8238afe11577693397c247da5aa70a2814928b5749"
    )


def test_the_random_modules_functions_keep_the_digest_stored_before() -> None:
    import random

    # random.random is a method of the module's hidden random.Random: the bound-method
    # fix fingerprinted that generator and refused it (a ConfigError where a digest was).
    digest = fingerprint_preprocessing({"f": [random.random, random.gauss]}).digest
    assert digest == OLD_RANDOM_DIGEST
