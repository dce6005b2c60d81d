"""The secret filter reads words, not substrings: settings that merely contain a
credential's letters are recorded (a parity check must see them: ``XLA_FLAGS`` changes
numerical results), credentials are still dropped."""

from __future__ import annotations

import pytest

from modelship.parity import is_secret


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("XLA_FLAGS", "--xla_disable_hlo_passes=constant_folding"),
        ("GIT_SSH_COMMAND", "ssh -o StrictHostKeyChecking=no"),
        ("SPARK_OPTS", "--conf spark.sql.session.timeZone=UTC"),
        ("MODEL_URI", "s3://bucket/models@v2"),
        ("PIP_REQUIREMENT", "git+https://github.com/org/repo.git@v1.2.0"),
        ("MODEL_SERVER", "https://registry.example.com:8443/models/fraud@v2"),
        ("IMAGE", "docker://ubuntu@sha256:abc"),
        ("GIT_CONFIG_PARAMETERS", "user.author=me"),
        # Flags without a credential's word, or with no value after them, are settings:
        ("PYTEST_ADDOPTS", "-k passes --log-level debug -p no:cacheprovider"),
        ("XLA_FLAGS", "--xla_gpu_autotune_level 2"),
        ("APP_ARGS", "--no-password --workers 4"),
        ("NOTE", "Bearer of good news"),  # "Bearer" needs a token of 8 or more after it
    ],
)
def test_a_setting_that_only_looks_like_a_credential_is_kept(name: str, value: str) -> None:
    assert not is_secret(name, value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DB_PASS", "x"),
        ("SMTPPASS", "x"),
        ("SPARK_CONF", "spark.hadoop.fs.s3a.secret.key=XYZ"),
        ("SPARK_CONF", "spark.hadoop.fs.s3a.access.key=AKIA"),
        ("MAPS", "https://maps.example.com/api?key=AIzaSy"),
        ("AZURE", "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k=="),
        ("PG", "host=db user=app password = hunter2"),
        ("ODBC", "UID=u;PWD=p"),
        ("JAVA_OPTS", "-Dssl.trustStorePassword=changeit"),
        ("OPTS", "client-secret=abc api_key=def"),
        ("GIT_REMOTE", "https://ghp_T0KEN:x-oauth-basic@github.com/org/repo"),
        ("DATABASE_URL", "postgresql://app:Pa55@w0rd@db:5432/prod"),
        # The third look: what the first word rule let through.
        ("DATABASE_URL", "postgres://app:ab;cd@db/prod"),
        ("PG", "PGPASSWORD=hunter2"),
        ("APP", "clientsecret=x mysqlpassword=y"),
        ("DOOR", "passcode=1234"),
        ("API", "auth=abc"),
        ("VAULT_PASSCODE", "x"),
        ("DB_PASS2", "x"),
        ("PASSENGER_APP_ENV", "production"),  # a name errs on the side of dropping
        # A flag or a header before its value, and a bearer token (stop 33):
        ("APP_ARGS", "--db-password hunter2 --workers 4"),
        ("JAVA_ARGS", "-Djavax.net.ssl.keyStorePassword changeit"),
        ("CURL_OPTS", "-H 'Authorization: Basic dXNlcjpwdw=='"),
        ("CURL_OPTS", '-H "X-Api-Key: abcdef"'),
        ("HEADERS", "Accept: json; Authorization: Bearer eyJhbGciOiJIUzI1NiJ9"),
        ("TOKEN_HINT", "x"),
        ("CLI", "bearer ghp_0123456789abcdef"),
    ],
)
def test_a_credential_is_still_dropped(name: str, value: str) -> None:
    assert is_secret(name, value)
