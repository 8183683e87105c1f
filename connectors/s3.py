"""S3 and S3-compatible stores: list documents, read their bytes (boto3).

The endpoint comes from AWS_ENDPOINT_URL (set from --s3-endpoint), credentials from the usual
AWS chain (environment, profile, instance role): never from flags, never printed. boto3's
adaptive retry mode retries throttling, 5xx and dropped connections with backoff; what is
left is permanent and reported once, before any page is processed.
"""

from __future__ import annotations

import functools
import os
from pathlib import PurePosixPath

from connectors.types import SUPPORTED_EXTENSIONS, SourceFile

PERMANENT = {"NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled", "InvalidBucketName"}
MAX_ATTEMPTS = 8


class S3AccessError(RuntimeError):
    """The bucket cannot be used at all (missing, denied, bad credentials): stop the run."""


def split_uri(uri: str) -> tuple[str, str]:
    rest = uri[len("s3://") :]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise ValueError(f"{uri!r} names no bucket")
    return bucket, key


def configure(endpoint: str | None) -> None:
    """Point this process at an S3-compatible endpoint (from --s3-endpoint); every stage calls it
    with the run's config, so remote workers use the same store as the driver."""
    if endpoint and os.environ.get("AWS_ENDPOINT_URL") != endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        client.cache_clear()


def client():
    return _client(os.environ.get("AWS_ENDPOINT_URL") or None)


@functools.lru_cache(maxsize=4)
def _client(endpoint: str | None):
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": MAX_ATTEMPTS, "mode": "adaptive"}, connect_timeout=10, read_timeout=120)
    # a fresh session: the default one caches the credentials it first resolved
    return boto3.session.Session().client("s3", endpoint_url=endpoint, config=config)


client.cache_clear = _client.cache_clear  # type: ignore[attr-defined]


def _code(exc: Exception) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "") if hasattr(exc, "response") else ""


def _permanent(uri: str, exc: Exception) -> S3AccessError:
    code = _code(exc)
    hint = {
        "NoSuchBucket": "the bucket does not exist",
        "404": "the bucket does not exist",
        "403": "access denied: check the credentials and their permissions",
        "AccessDenied": "access denied: check the credentials' permissions",
        "InvalidAccessKeyId": "the access key is not known to this store",
        "SignatureDoesNotMatch": "the secret key does not match the access key",
    }.get(code, code or str(exc))
    return S3AccessError(f"cannot use {uri}: {hint}")


def discover_s3(uri: str) -> list[SourceFile]:
    """Objects under the prefix with a supported extension (paginated), or the one object named."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, prefix = split_uri(uri)
    s3 = client()
    found: list[SourceFile] = []
    try:
        if prefix and PurePosixPath(prefix).suffix.lower() in SUPPORTED_EXTENSIONS:
            head = s3.head_object(Bucket=bucket, Key=prefix)
            return [SourceFile(uri=uri, size=head["ContentLength"], mtime=head["LastModified"].timestamp(), etag=head["ETag"].strip('"'))]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if PurePosixPath(key).suffix.lower() in SUPPORTED_EXTENSIONS and not PurePosixPath(key).name.startswith("."):
                    found.append(SourceFile(uri=f"s3://{bucket}/{key}", size=obj["Size"], mtime=obj["LastModified"].timestamp(),
                                            etag=obj.get("ETag", "").strip('"')))
    except ClientError as exc:
        if _code(exc) in PERMANENT or _code(exc) in ("404", "NoSuchKey"):
            if _code(exc) in ("404", "NoSuchKey"):
                raise FileNotFoundError(f"{uri} does not exist") from exc
            raise _permanent(uri, exc) from exc
        raise
    except BotoCoreError as exc:
        raise S3AccessError(f"cannot reach the S3 endpoint for {uri}: {exc}") from exc
    return sorted(found, key=lambda s: s.uri)


def read_s3(uri: str) -> bytes:
    """An object's bytes; a missing object is FileNotFoundError (an error row, not a crash)."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = split_uri(uri)
    try:
        return client().get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if _code(exc) in ("NoSuchKey", "404"):
            raise FileNotFoundError(uri) from exc
        raise OSError(f"S3 read failed for {uri}: {_code(exc) or exc}") from exc
    except BotoCoreError as exc:
        raise OSError(f"S3 read failed for {uri}: {exc}") from exc


def check_bucket(uri: str) -> None:
    """Fail fast on an output bucket that cannot be used."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _ = split_uri(uri)
    try:
        client().head_bucket(Bucket=bucket)
    except ClientError as exc:
        raise _permanent(uri, exc) from exc
    except BotoCoreError as exc:
        raise S3AccessError(f"cannot reach the S3 endpoint for {uri}: {exc}") from exc
