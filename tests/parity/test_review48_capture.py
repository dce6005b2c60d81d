"""Review 48: probe text of odd digits never fails a capture; private keys and JSON Web
Tokens are refused by their shape, whatever names them."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from modelship.parity import EnvironmentSnapshot, is_secret
from modelship.parity import _snapshot as snapshot_module
from modelship.parity._snapshot import _Cgroups, _gpus, _meminfo

# Text str.isdigit() accepts that int() refuses ("²", "½"-like marks), reads as another
# number (Arabic-Indic digits), or refuses for its length.
ODD_DIGITS = ["²", "12²", "\u0661\u0660\u0662\u0664", "1" * 5000]


def cgroups(tmp_path: Path, files: dict[str, str]) -> _Cgroups:
    for name, text in files.items():
        path = tmp_path / "cg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (tmp_path / "self-cgroup").write_text("0::/\n", encoding="utf-8")
    return _Cgroups(root=tmp_path / "cg", membership=tmp_path / "self-cgroup")


@pytest.mark.parametrize("text", ODD_DIGITS)
def test_odd_digits_in_a_v2_memory_limit_are_no_limit(tmp_path: Path, text: str) -> None:
    assert cgroups(tmp_path, {"memory.max": text}).memory_limit() is None


@pytest.mark.parametrize("text", ODD_DIGITS)
def test_odd_digits_in_a_v1_memory_limit_are_no_limit(tmp_path: Path, text: str) -> None:
    (tmp_path / "cg" / "memory").mkdir(parents=True)
    groups = cgroups(tmp_path, {"memory/memory.limit_in_bytes": text})
    (tmp_path / "self-cgroup").write_text("4:memory:/\n", encoding="utf-8")
    assert groups.memory_limit() is None


def test_an_odd_limit_beside_a_real_one_leaves_the_real_one(tmp_path: Path) -> None:
    groups = cgroups(tmp_path, {"pod/ctr/memory.max": "²", "pod/memory.max": "1073741824"})
    (tmp_path / "self-cgroup").write_text("0::/pod/ctr\n", encoding="utf-8")
    assert groups.memory_limit() == 1073741824


@pytest.mark.parametrize(
    "text",
    [
        "² 100000",
        "50000 ²",
        "\u0661\u0660\u0660 \u0661\u0660\u0660\u0660",
        f"{'1' * 5000} 100000",
        "50000 " + "1" * 5000,
    ],
)
def test_odd_digits_in_cpu_max_are_no_limit(tmp_path: Path, text: str) -> None:
    assert cgroups(tmp_path, {"cpu.max": text}).cpu_limit() is None


@pytest.mark.parametrize(("quota", "period"), [("²", "100000"), ("50000", "²"), ("1" * 5000, "1")])
def test_odd_digits_in_a_v1_cfs_quota_are_no_limit(tmp_path: Path, quota: str, period: str) -> None:
    groups = cgroups(tmp_path, {"cpu/cpu.cfs_quota_us": quota, "cpu/cpu.cfs_period_us": period})
    (tmp_path / "self-cgroup").write_text("4:cpu:/\n", encoding="utf-8")
    assert groups.cpu_limit() is None


def test_a_real_quota_is_still_read(tmp_path: Path) -> None:
    assert cgroups(tmp_path, {"cpu.max": "150000 100000"}).cpu_limit() == 1.5


@pytest.mark.parametrize("text", ODD_DIGITS)
def test_odd_digits_in_meminfo_are_skipped(tmp_path: Path, text: str) -> None:
    path = tmp_path / "meminfo"
    path.write_text(f"MemTotal:  {text} kB\nMemAvailable:  1024 kB\n", encoding="utf-8")
    assert _meminfo(path) == {"MemAvailable": 1024 * 1024}


@pytest.mark.skipif(os.name != "posix", reason="the fake nvidia-smi is a shell script")
@pytest.mark.parametrize("memory", ["²", "\u0661\u0660\u0662\u0664", "1" * 5000])
def test_odd_digits_from_nvidia_smi_are_an_unknown_size(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, memory: str
) -> None:
    exe = tmp_path / "nvidia-smi"
    exe.write_text(f"#!/bin/sh\necho 'NVIDIA A10G, {memory}, 535.104.05'\n", encoding="utf-8")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(tmp_path))
    (gpu,) = _gpus()
    assert (gpu.name, gpu.memory_total, gpu.driver_version) == ("NVIDIA A10G", None, "535.104.05")


def test_capture_does_not_fail_on_odd_probe_text(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    groups = cgroups(tmp_path, {"memory.max": "²", "cpu.max": "² 100000"})
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:  ² kB\n", encoding="utf-8")
    monkeypatch.setattr(snapshot_module, "_Cgroups", lambda: groups)
    monkeypatch.setattr(snapshot_module, "_meminfo", lambda path=meminfo: _meminfo(path))
    snapshot = EnvironmentSnapshot.capture()
    assert (snapshot.cpu_limit, snapshot.memory_limit) == (None, None)


# --- private keys and JSON Web Tokens -------------------------------------------------

JWT = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJuYW1lc3BhY2VfaWQiOiIxIiwicHJvamVjdF9pZCI6IjIyIiwidXNlcl9sb2dpbiI6InJvb3QifQ"
    ".RnJvbSBHaXRMYWIncyBDSV9KT0JfSldU-_x"
)
SHAPED_SECRETS = {
    "rsa": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n",
    "pkcs8": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n",
    "openssh": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n",
    "ec": "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg\n",
    "encrypted": "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0w\n",
    "dsa": "-----BEGIN DSA PRIVATE KEY-----\nMIIBuwIBAAKBgQ\n",
    "pgp": "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF\n",
    "escaped_newlines": "-----BEGIN RSA PRIVATE KEY-----\\nMIIEowIBAAKCAQEA\\n-----END RSA",
    "one_line": "-----BEGIN PRIVATE KEY----- MIIEvQIBADANBgkqhkiG9w0BAQEFAASC -----END",
    "crlf": "-----BEGIN PRIVATE KEY-----\r\nMIIEvQIBADANBgkq\r\n",
    "footer_only": "MIIEvQIBADANBgkq\n-----END PRIVATE KEY-----",
    "url_encoded": "-----BEGIN%20RSA%20PRIVATE%20KEY-----%0AMIIE",
    "in_json": '{"type":"service_account","pk":"-----BEGIN PRIVATE KEY-----\\nMIIE"}',
    "jwt": JWT,
    "jwt_bearer_free": f"--job-token {JWT} --verbose",
    "jwt_unsigned": "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",
    "jwt_in_query": f"https://host/callback?t={JWT}",
    "jwt_quoted": f'"{JWT}"',
}


@pytest.mark.parametrize("value", SHAPED_SECRETS.values(), ids=SHAPED_SECRETS.keys())
def test_a_private_key_or_a_jwt_is_refused_under_any_name(value: str) -> None:
    assert is_secret("MY_VAR", value)
    assert is_secret("", value)


@pytest.mark.parametrize("value", SHAPED_SECRETS.values(), ids=SHAPED_SECRETS.keys())
def test_a_private_key_or_a_jwt_is_dropped_allow_listed_or_not(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("MY_VAR", value)
    monkeypatch.setenv("CI_JOB_JWT", value)
    snapshot = EnvironmentSnapshot.capture(env_allowlist=["MY_VAR", "CI_JOB_JWT"])
    assert "MY_VAR" not in snapshot.env
    assert "CI_JOB_JWT" not in snapshot.env
    assert "MY_VAR" in snapshot.env_withheld
    assert value not in snapshot.to_json()
    unlisted = EnvironmentSnapshot.capture()
    assert value not in unlisted.to_json()


HARMLESS = {
    "certificate": "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIE\n-----END CERTIFICATE-----",
    "public_key": "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0B\n",
    "ssh_public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMq user@host",
    "prose": "keep the private key safe",
    "eyJ_dotted": "eyJ.foo",
    "abc_dotted": "a.b.c",
    "module_path": "pkg.module.attr",
    "one_eyJ": "eyJhbGciOiJIUzI1NiJ9.payload.sig",
    "two_segments": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0",
    "inside_a_word": "xeyJhbGci.eyJzdWIi.sig",
    "lower_case": "eyjhbGci.eyjzdWIi.sig",
    "version": "1.2.3",
    "hostname": "eyJ.example.com",
}


@pytest.mark.parametrize("value", HARMLESS.values(), ids=HARMLESS.keys())
def test_near_misses_are_kept(value: str) -> None:
    assert not is_secret("MY_VAR", value)


def test_the_shape_search_is_linear_in_a_value(monkeypatch: pytest.MonkeyPatch) -> None:
    values = [
        "eyJ" * 43_000,
        "eyJa." * 26_000,
        "eyJa.eyJ" * 16_000,
        "-----BEGIN " * 11_000,
        "-----BEGIN A B C" * 8_000,
    ]
    started = time.perf_counter()
    for value in values:
        is_secret("MY_VAR", value)
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    "value", ["password:\u00b2\u00b2\u00b2\u00b2", "-u \u0661\u0660:\u0661\u0660 https://x"]
)
def test_only_ascii_digits_are_a_port_or_an_id(value: str) -> None:
    assert is_secret("MY_VAR", value)
    assert not is_secret(
        "MY_VAR", value.replace("\u00b2", "1").replace("\u0661", "1").replace("\u0660", "0")
    )


# --- second look: forms of private keys and tokens the first rule let through ----------

_PEM_RSA = b"-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n"
_CERT = b"-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIE\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(__import__("base64").b64encode(_PEM_RSA).decode(), id="pem-in-base64"),
        pytest.param(
            __import__("base64").b64encode(b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3").decode(),
            id="openssh-pem-in-base64",
        ),
        pytest.param("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none", id="putty"),
        pytest.param("---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nabc", id="rfc4716"),
        pytest.param("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ", id="openssh-body"),
        pytest.param(
            "eyJhbGciOiJSU0EtT0FFUCJ9.OKOawDo13gRp.48V1_ALb6US04U3b.5eym8TW_c8SuK0.XFBoMYUZ",
            id="jwe",
        ),
        pytest.param("eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4R0NNIn0..iv1.ct4.tag7", id="jwe-dir"),
        pytest.param("-----BEGIN  PRIVATE KEY-----", id="two-spaces"),
        pytest.param("-----BEGIN_PRIVATE_KEY-----", id="underscores"),
    ],
)
def test_more_shapes_of_private_keys_and_tokens_are_refused(value: str) -> None:
    assert is_secret("MY_VAR", value)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(__import__("base64").b64encode(_CERT).decode(), id="certificate-in-base64"),
        pytest.param("LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=", id="kubeconfig-ca-data"),
        pytest.param("a.b.c.d.e", id="dotted"),
        pytest.param("eyJ.a.b.c", id="eyJ-dotted"),
    ],
)
def test_public_certificates_in_base64_and_dotted_names_are_kept(value: str) -> None:
    assert not is_secret("MY_VAR", value)


def test_the_capture_example_leaves_the_environment_as_it_found_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The example set and then removed ``AWS_SECRET_ACCESS_KEY``: in a worker whose S3
    fixtures had put moto's credentials there, every later S3 test met botocore's
    ``PartialCredentialsError`` (a fresh run of the README's test command, stop 48)."""
    import doctest

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    finder = doctest.DocTestFinder()
    (example,) = finder.find(EnvironmentSnapshot.capture, "capture", globs={})
    result = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS).run(example, out=lambda _: None)
    assert result.failed == 0
    assert os.environ.get("AWS_ACCESS_KEY_ID") == "testing"
    assert os.environ.get("AWS_SECRET_ACCESS_KEY") == "testing"
