"""Secrets in a URL's query string are hidden in messages too (stop 55: a gs:// store URL
with ?access_token= was shown whole in a store error)."""

from __future__ import annotations

import pytest

from modelship._shown import hide_credentials


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("gs://bucket/reg?access_token=ya29.SECRET", "gs://bucket/reg?access_token=***"),
        (
            "https://h/o?X-Amz-Signature=abc&X-Amz-Credential=AKIA%2F&X-Amz-Security-Token=zz&x=1",
            "https://h/o?X-Amz-Signature=***&X-Amz-Credential=***&X-Amz-Security-Token=***&x=1",
        ),
        ("az://c/r?sv=2020-08-04&sig=abc%3D&se=2030", "az://c/r?sv=2020-08-04&sig=***&se=2030"),
        (
            "https://h/p?api_key=1&apikey=2&Password=3#f",
            "https://h/p?api_key=***&apikey=***&Password=***#f",
        ),
        ("https://ci:pw@host/r?token=x y", "https://***@host/r?token=*** y"),
    ],
)
def test_query_parameters_that_name_a_secret_are_hidden(text: str, shown: str) -> None:
    assert hide_credentials(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        "https://h/p?monkey=banana&version=2&owner=ana@example.com",
        "s3://bucket/models@v2?region=eu-west-1",
        "the signature=abc in plain text is no query",
    ],
)
def test_other_query_parameters_are_left_alone(text: str) -> None:
    assert hide_credentials(text) == text
