"""EnvironmentSnapshot: what it captures, how it round-trips, and the secrets it never holds."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import stat
from pathlib import Path

import attrs
import pytest

from modelship.checks import SuiteResult
from modelship.parity import EnvironmentSnapshot, SnapshotError, compare, is_secret
from modelship.parity._snapshot import _Cgroups, _gpus, _meminfo

SECRET_VALUE = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_capture_records_the_interpreter_machine_and_distributions() -> None:
    snap = EnvironmentSnapshot.capture()
    assert snap.python_version == platform.python_version()
    assert snap.python_implementation == platform.python_implementation()
    assert snap.machine == platform.machine()
    assert snap.packages["numpy"] == importlib.metadata.version("numpy")
    assert snap.cpu_count is not None
    assert snap.cpu_count >= 1


@pytest.mark.skipif(not Path("/proc/meminfo").exists(), reason="no /proc on this OS")
def test_capture_reads_total_and_available_memory_on_linux() -> None:
    snap = EnvironmentSnapshot.capture()
    assert snap.memory_total is not None
    assert snap.memory_available is not None
    assert 0 < snap.memory_available <= snap.memory_total


def test_distribution_names_are_normalised_per_pep_503() -> None:
    snap = EnvironmentSnapshot(
        python_version="3.11.7",
        python_implementation="CPython",
        os="Linux",
        machine="x86_64",
        packages={"Scikit_Learn": "1.5.2", "zope.interface": "6.0"},
    )
    assert dict(snap.packages) == {"scikit-learn": "1.5.2", "zope-interface": "6.0"}


def test_a_snapshot_round_trips_through_json() -> None:
    snap = EnvironmentSnapshot.capture(env_allowlist=["PATH"])
    assert EnvironmentSnapshot.from_json(snap.to_json()) == snap


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"schema_version": 3}, "newer"),
        ({"python_version": 3.11}, "python_version"),
        ({"packages": {"numpy": 2}}, "packages"),
        ({"cpu_count": "8"}, "cpu_count"),
        ({"gpus": [{"memory_total": 1}]}, "name"),
    ],
)
def test_a_malformed_snapshot_raises_snapshot_error_naming_the_field(
    change: dict[str, object], words: str
) -> None:
    document = json.loads(EnvironmentSnapshot.capture().to_json())
    document.update(change)
    with pytest.raises(SnapshotError, match=words):
        EnvironmentSnapshot.from_json(json.dumps(document))


def test_allow_list_patterns_select_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.setenv("MKL_DYNAMIC", "FALSE")
    monkeypatch.setenv("UNLISTED_VARIABLE", "x")
    snap = EnvironmentSnapshot.capture(env_allowlist=["OMP_*", "MKL_DYNAMIC"])
    assert snap.env["OMP_NUM_THREADS"] == "3"
    assert snap.env["MKL_DYNAMIC"] == "FALSE"
    assert "UNLISTED_VARIABLE" not in snap.env


def test_the_default_allow_list_records_thread_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "5")
    assert EnvironmentSnapshot.capture().env["OMP_NUM_THREADS"] == "5"


@pytest.mark.parametrize("allow", [["AWS_SECRET_ACCESS_KEY"], ["AWS_*"], ["*"]])
def test_a_secret_never_appears_in_a_snapshot_even_when_allow_listed(
    monkeypatch: pytest.MonkeyPatch, allow: list[str]
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_VALUE)
    text = EnvironmentSnapshot.capture(env_allowlist=allow).to_json()
    assert SECRET_VALUE not in text
    assert "AWS_SECRET_ACCESS_KEY" not in text


def test_a_secret_never_appears_in_a_report_even_when_allow_listed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    train = EnvironmentSnapshot.capture(env_allowlist=["*"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_VALUE)
    prod = EnvironmentSnapshot.capture(env_allowlist=["*"])
    report = compare(train, prod)
    suite = SuiteResult([report.to_check_result()])
    outputs = [report.to_json(), report.summary(), suite.to_json(), suite.to_junit()]
    outputs.append(suite.to_markdown())
    for text in outputs:
        assert SECRET_VALUE not in text
        assert "AWS_SECRET_ACCESS_KEY" not in text


def test_a_secret_written_into_a_snapshot_file_is_dropped_on_reading() -> None:
    document = json.loads(EnvironmentSnapshot.capture().to_json())
    document["env"] = {"AWS_SECRET_ACCESS_KEY": SECRET_VALUE, "OMP_NUM_THREADS": "2"}
    snap = EnvironmentSnapshot.from_json(json.dumps(document))
    assert dict(snap.env) == {"OMP_NUM_THREADS": "2"}


@pytest.mark.parametrize(
    "name",
    [
        "AWS_SECRET_ACCESS_KEY",
        "GITHUB_TOKEN",
        "DB_PASSWORD",
        "PGPASSWD",
        "SENTRY_DSN",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "HTTP_AUTHORIZATION",
        "SESSION_ID",
        "SSH_PRIVATE_KEY",
        "COOKIE_JAR",
        "MODELSHIP_SIGNING_KEY",
        "api_key",
    ],
)
def test_credential_like_names_are_secret(name: str) -> None:
    assert is_secret(name, "value")


@pytest.mark.parametrize("name", ["OMP_NUM_THREADS", "PATH", "LANG", "TZ", "PWD", "HOME"])
def test_ordinary_names_are_not_secret(name: str) -> None:
    assert not is_secret(name, "/usr/bin")


def test_a_url_with_a_password_is_secret_whatever_the_name() -> None:
    assert is_secret("DATABASE_URL", "postgresql://app:s3cret@db.internal:5432/prod")
    assert not is_secret("INDEX_URL", "https://pypi.org/simple")


def test_meminfo_is_read_in_bytes(tmp_path: Path) -> None:
    path = tmp_path / "meminfo"
    path.write_text("MemTotal:       16384 kB\nMemAvailable:    8192 kB\nHugePages_Total: 0\n")
    assert _meminfo(path) == {
        "MemTotal": 16384 * 1024,
        "MemAvailable": 8192 * 1024,
        "HugePages_Total": 0,
    }


def cgroups(tmp_path: Path, membership: str, files: dict[str, str]) -> _Cgroups:
    (tmp_path / "self-cgroup").write_text(membership)
    for relative, text in files.items():
        path = tmp_path / "cg" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    return _Cgroups(root=tmp_path / "cg", membership=tmp_path / "self-cgroup")


def test_cgroup_v2_limits_are_read_from_the_process_group(tmp_path: Path) -> None:
    groups = cgroups(
        tmp_path,
        "0::/kubepods/pod1\n",
        {"kubepods/pod1/memory.max": "2147483648", "kubepods/pod1/cpu.max": "150000 100000"},
    )
    assert groups.memory_limit() == 2 * 2**30
    assert groups.cpu_limit() == 1.5


def test_cgroup_v2_max_means_no_limit(tmp_path: Path) -> None:
    groups = cgroups(tmp_path, "0::/\n", {"memory.max": "max", "cpu.max": "max 100000"})
    assert groups.memory_limit() is None
    assert groups.cpu_limit() is None


def test_cgroup_v1_limits_are_read_when_there_is_no_v2(tmp_path: Path) -> None:
    groups = cgroups(
        tmp_path,
        "4:memory:/docker/abc\n2:cpu,cpuacct:/docker/abc\n",
        {
            "memory/docker/abc/memory.limit_in_bytes": "536870912",
            "cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "50000",
            "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000",
        },
    )
    assert groups.memory_limit() == 512 * 2**20
    assert groups.cpu_limit() == 0.5


def test_cgroup_v1_huge_limit_and_negative_quota_mean_no_limit(tmp_path: Path) -> None:
    groups = cgroups(
        tmp_path,
        "4:memory:/\n2:cpu:/\n",
        {
            "memory/memory.limit_in_bytes": str(2**63 - 4096),
            "cpu/cpu.cfs_quota_us": "-1",
            "cpu/cpu.cfs_period_us": "100000",
        },
    )
    assert groups.memory_limit() is None
    assert groups.cpu_limit() is None


def test_without_cgroups_there_are_no_limits(tmp_path: Path) -> None:
    groups = _Cgroups(root=tmp_path / "absent", membership=tmp_path / "absent-too")
    assert groups.memory_limit() is None
    assert groups.cpu_limit() is None


def test_the_effective_limits_are_the_smaller_of_machine_and_cgroup() -> None:
    snap = EnvironmentSnapshot(
        python_version="3.11.7",
        python_implementation="CPython",
        os="Linux",
        machine="x86_64",
        cpu_count=16,
        cpu_limit=2.0,
        memory_total=64 * 2**30,
        memory_limit=4 * 2**30,
    )
    assert snap.cpus == 2.0
    assert snap.memory == 4 * 2**30
    assert attrs.evolve(snap, cpu_limit=None, memory_limit=None).memory == 64 * 2**30


def fake_nvidia_smi(directory: Path, script: str) -> None:
    exe = directory / "nvidia-smi"
    exe.write_text("#!/bin/sh\n" + script + "\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)


def test_gpus_are_empty_without_nvidia_smi(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert _gpus() == ()


@pytest.mark.skipif(os.name != "posix", reason="the fake nvidia-smi is a shell script")
def test_gpus_and_driver_are_read_from_nvidia_smi(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_nvidia_smi(tmp_path, "echo 'NVIDIA A10G, 23028, 535.104.05'")
    monkeypatch.setenv("PATH", str(tmp_path))
    (gpu,) = _gpus()
    assert (gpu.name, gpu.memory_total, gpu.driver_version) == (
        "NVIDIA A10G",
        23028 * 2**20,
        "535.104.05",
    )


@pytest.mark.skipif(os.name != "posix", reason="the fake nvidia-smi is a shell script")
@pytest.mark.parametrize("script", ["exit 9", "sleep 30"], ids=["fails", "hangs"])
def test_a_broken_nvidia_smi_never_fails_a_capture(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, script: str
) -> None:
    fake_nvidia_smi(tmp_path, script)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("modelship.parity._snapshot.NVIDIA_SMI_TIMEOUT", 0.5)
    assert _gpus() == ()


def test_blas_is_reported_when_numpy_links_one() -> None:
    snap = EnvironmentSnapshot.capture()
    assert snap.blas, "numpy's wheels link OpenBLAS; threadpoolctl or show_config finds it"
    assert all(lib.name for lib in snap.blas)


def test_blas_falls_back_to_numpy_build_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = __import__("importlib").import_module

    def no_threadpoolctl(name: str, *args: object) -> object:
        if name == "threadpoolctl":
            raise ImportError(name)
        return real_import(name, *args)

    monkeypatch.setattr("modelship.parity._snapshot.importlib.import_module", no_threadpoolctl)
    libs = EnvironmentSnapshot.capture().blas
    assert len(libs) == 1
    assert libs[0].name
