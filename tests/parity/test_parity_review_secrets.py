"""The secret filter: credentials the review found passing it never reach a snapshot or a
report, by their name or by their value."""

from __future__ import annotations

import pytest

from modelship.parity import EnvironmentSnapshot, ParityRules, compare, is_secret

BASE = EnvironmentSnapshot(
    python_version="3.11.7", python_implementation="CPython", os="Linux", machine="x86_64"
)

SECRET_NAMES = ["DB_PASS", "SMTP_PASS", "dbpass", "MYSQL_ROOT_PASSWD", "DB_PWD", "LDAP_PASSWORD"]
SECRET_VALUES = [
    "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0;EndpointSuffix=x",
    "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=r;SharedAccessKey=abc",
    "BlobEndpoint=https://a.blob.core.windows.net/;SharedAccessSignature=sv=2020&sig=abc",
    "https://a.blob.core.windows.net/c?sv=2020-08-04&ss=b&sig=abc%2Bdef",
    "postgresql://app:ab/cd@db.internal:5432/prod",
    "https://ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/org/repo.git",
    "host=db.internal user=app password=hunter2 dbname=prod",
    "host=db.internal user=app password = hunter2",
    "Driver={ODBC};Server=db;UID=app;PWD=hunter2",
    "-Djavax.net.ssl.trustStorePassword=changeit",
]
HARMLESS = [
    ("PATH", "/usr/local/bin:/usr/bin"),
    ("LANG", "C.UTF-8"),
    ("PWD", "/home/me"),
    ("OLDPWD", "/tmp"),
    ("GIT_REMOTE", "https://github.com/org/repo.git"),
    ("KMP_AFFINITY", "granularity=fine,compact"),
    ("OMP_NUM_THREADS", "4"),
]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_a_name_with_pass_or_pwd_is_a_secret(name: str) -> None:
    assert is_secret(name, "x")


@pytest.mark.parametrize("value", SECRET_VALUES)
def test_a_value_holding_a_credential_is_a_secret(value: str) -> None:
    assert is_secret("HARMLESS_NAME", value)


@pytest.mark.parametrize(("name", "value"), HARMLESS)
def test_ordinary_variables_are_not_secrets(name: str, value: str) -> None:
    assert not is_secret(name, value)


def test_capture_records_none_of_the_credentials_the_review_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secrets = {
        "DB_PASS": "hunter2",
        "SMTP_PASS": "mailpw",
        "AZURE_STORAGE_CONNECTION_STRING": SECRET_VALUES[0],
        "DATABASE_URL": "postgresql://app:ab/cd@db.internal:5432/prod",
        "GIT_REMOTE": SECRET_VALUES[5],
        "DB_CONN": "host=db.internal user=app password=hunter2 dbname=prod",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    snap = EnvironmentSnapshot.capture(env_allowlist=list(secrets))
    assert snap.env == {}
    text = snap.to_json()
    assert not any(value in text for value in secrets.values())


def test_a_stored_snapshot_cannot_bring_a_credential_in() -> None:
    document = {**BASE.to_dict(), "env": {"DB_PASS": "x", "GIT_REMOTE": SECRET_VALUES[5]}}
    assert EnvironmentSnapshot.from_dict(document).env == {}


def test_compare_capturing_production_records_no_credential_of_a_listed_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The training snapshot lists GIT_REMOTE with a harmless value; in production the
    # variable holds a token: compare(prod=None) looks it up, and must filter it too.
    train = EnvironmentSnapshot.from_dict(
        {**BASE.to_dict(), "env": {"GIT_REMOTE": "https://github.com/org/repo.git"}}
    )
    monkeypatch.setenv("GIT_REMOTE", SECRET_VALUES[5])
    monkeypatch.setenv("DB_PASS", "prod-hunter2")
    report = compare(train, rules=ParityRules(package_missing="off"))
    assert "ghp_" not in report.to_json()
    assert "prod-hunter2" not in report.to_json()


@pytest.mark.timeout(120)  # not a timed test: a quadratic filter would hang on these
def test_the_value_filter_is_linear_in_the_value() -> None:
    for value in ("://" * 400_000, "a" * 1_200_000, "=" * 1_200_000, "x=" * 600_000):
        assert not is_secret("NAME", value)
