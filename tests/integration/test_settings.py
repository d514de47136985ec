"""The production profile comes from environment variables alone."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings

pytestmark = pytest.mark.slow

PRODUCTION = {
    "DJANGO_SECRET_KEY": "a-long-production-secret-" + "x9Q2" * 12,
    "DJANGO_DEBUG": "false",
    "DJANGO_ALLOWED_HOSTS": "qingshan.example.cn",
    "DATABASE_URL": "postgres://qingshan:secret@db.internal:5432/qingshan",
    "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
    "CACHE_URL": "redis://redis.internal:6379/1",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.cn:587",
    "AWS_STORAGE_BUCKET_NAME": "qingshan-evidence",
    "DJANGO_SECURE_SSL_REDIRECT": "true",
    "DJANGO_SECURE_COOKIES": "true",
    "DJANGO_HSTS_SECONDS": "31536000",
    "QINGSHAN_LEDGER_KEY": "a-long-ledger-key-" + "k7W3" * 12,
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "QINGSHAN_LEDGER_"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_the_production_variables() -> None:
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_SECRET_KEY"}

    result = run_manage("check", env=env)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_it_refuses_to_start_without_a_ledger_key_in_production() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "QINGSHAN_LEDGER_KEY"}

    result = run_manage("check", env=env)

    assert result.returncode != 0
    assert "QINGSHAN_LEDGER_KEY must be set" in result.stderr


def test_the_embedded_runtime_derives_a_ledger_key_from_the_secret_key() -> None:
    env = {"DJANGO_SECRET_KEY": PRODUCTION["DJANGO_SECRET_KEY"]}
    code = "from django.conf import settings as s; print(len(s.QINGSHAN_LEDGER_KEY))"

    result = run_manage("shell", "-c", code, env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "64"


def test_the_production_variables_reach_the_settings() -> None:
    code = (
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.EMAIL_HOST,"
        " s.STORAGES['default']['BACKEND'], s.DEBUG, s.TIME_ZONE, s.LANGUAGE_CODE)"
    )

    result = run_manage("shell", "-c", code, env=PRODUCTION)

    assert result.stdout.strip().splitlines()[-1].split() == [
        "django.db.backends.postgresql",
        "redis://redis.internal:6379/0",
        "smtp.example.cn",
        "storages.backends.s3.S3Storage",
        "False",
        "Asia/Shanghai",
        "zh-hans",
    ]
