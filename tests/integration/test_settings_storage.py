"""The object store, the tus staging and the broker options come from the environment alone."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.test_settings import PRODUCTION, run_manage

pytestmark = pytest.mark.slow

SHOW = (
    "from django.conf import settings as s; import json; print(json.dumps({"
    "'storage': s.STORAGES['default'], 'staging': s.QINGSHAN_TUS_STAGING,"
    " 'transport': s.CELERY_BROKER_TRANSPORT_OPTIONS,"
    " 'cancel': getattr(s, 'CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS', False),"
    " 'media_queue': s.CELERY_TASK_ROUTES['inspections.photo_process']['queue']}))"
)


def shown(**env: str) -> dict[str, Any]:
    result = run_manage("shell", "-c", SHOW, env={**PRODUCTION, **env})
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_s3_media_private_with_staging_in_the_bucket_and_rabbitmq_with_publisher_confirms() -> None:
    found = shown(
        QINGSHAN_STORAGE="s3",
        AWS_S3_ENDPOINT_URL="https://oss-cn-hangzhou.aliyuncs.com",
        QINGSHAN_S3_ADDRESSING_STYLE="path",
        CELERY_BROKER_URL="amqp://qingshan:secret@mq.internal:5672/qingshan",
        QINGSHAN_MEDIA_QUEUE="photos",
    )

    options = found["storage"]["OPTIONS"]
    assert found["storage"]["BACKEND"] == "storages.backends.s3.S3Storage"
    assert (options["bucket_name"], options["default_acl"], options["querystring_expire"]) == (
        "qingshan-evidence",
        "private",
        300,
    )
    assert options["endpoint_url"] == "https://oss-cn-hangzhou.aliyuncs.com"
    assert options["addressing_style"] == "path"
    assert found["staging"] == "storage"
    assert found["transport"] == {"confirm_publish": True} and found["cancel"] is True
    assert found["media_queue"] == "photos"


def test_local_media_keeps_the_folder_staging_and_redis_its_visibility_timeout() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "AWS_STORAGE_BUCKET_NAME"}
    result = run_manage("shell", "-c", SHOW, env=env)

    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["storage"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    assert found["staging"] == "folder"
    assert found["transport"] == {"visibility_timeout": 900} and found["cancel"] is False
    assert found["media_queue"] == "media"


def test_s3_without_a_bucket_refuses_to_start() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "AWS_STORAGE_BUCKET_NAME"}

    result = run_manage("check", env={**env, "QINGSHAN_STORAGE": "s3"})

    assert result.returncode != 0
    assert "QINGSHAN_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME" in result.stderr
