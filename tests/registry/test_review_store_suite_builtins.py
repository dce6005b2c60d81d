"""The store suite's checks that need more than a store, run on the built-in stores.

The Store protocol cannot begin an upload, so StoreConformance tests an AbortsUploads
store's ``before`` cutoff and its abort of a finished upload only with a ``begin_upload``
fixture; here it is given for S3 (moto's server), whose subclass in test_conformance.py
has none.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from modelship.registry import AbortsUploads, FsspecStore
from modelship.testing import StoreConformance

suite = StoreConformance()


@pytest.fixture
def s3_uploads(s3_bucket: dict[str, Any]) -> tuple[FsspecStore, Callable[[str], None]]:
    """An S3 store on a fresh prefix, and a way to begin a multipart upload under it."""
    prefix = f"uploads-{uuid.uuid4().hex[:8]}"
    store = FsspecStore.from_url(f"s3://{s3_bucket['bucket']}/{prefix}", **s3_bucket["options"])

    def begin(key: str) -> None:
        s3_bucket["client"].create_multipart_upload(
            Bucket=s3_bucket["bucket"], Key=f"{prefix}/{key}"
        )

    return store, begin


@pytest.mark.s3
def test_s3_lists_an_upload_only_by_a_cutoff_after_it_began(
    s3_uploads: tuple[FsspecStore, Callable[[str], None]],
) -> None:
    store, begin = s3_uploads
    assert isinstance(store, AbortsUploads)
    suite.test_an_upload_is_listed_only_by_a_cutoff_after_it_began(store, begin)


@pytest.mark.s3
def test_s3_aborts_an_upload_that_is_gone_without_an_error(
    s3_uploads: tuple[FsspecStore, Callable[[str], None]],
) -> None:
    store, begin = s3_uploads
    suite.test_aborting_an_upload_that_is_gone_is_not_an_error(store, begin)
