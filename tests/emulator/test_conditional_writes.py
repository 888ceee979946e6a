"""S3 conditional writes on the embedded emulator: what Terraform's S3 native locking
(`use_lockfile`) relies on. moto 5.2.5 implements `If-None-Match: *` on PutObject itself, so no
hook is needed (its check and write are two steps, so two writes racing in the same instant could
both pass; the e2e lock test holds the lock before the second apply starts)."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError


@pytest.mark.parametrize("versioned", [False, True])
def test_put_if_none_match_refuses_an_existing_key_with_412(aws, versioned):
    s3 = aws("s3")
    bucket = f"conditional-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    if versioned:  # the state bucket is versioned (bootstrap/)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="state.tflock", Body=b"holder", IfNoneMatch="*")
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=bucket, Key="state.tflock", Body=b"other", IfNoneMatch="*")
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert s3.get_object(Bucket=bucket, Key="state.tflock")["Body"].read() == b"holder"

    # Released (deleted, a delete marker when versioned): the next holder gets it.
    s3.delete_object(Bucket=bucket, Key="state.tflock")
    s3.put_object(Bucket=bucket, Key="state.tflock", Body=b"next", IfNoneMatch="*")
    assert s3.get_object(Bucket=bucket, Key="state.tflock")["Body"].read() == b"next"
