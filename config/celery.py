"""The Celery application: configured from Django settings (``CELERY_*``)."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("qingshan")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Three queues so media processing and email fan-out never starve each other.
app.conf.task_queues = (Queue("default"), Queue("media"), Queue("email"))
# Each app's tasks module (inspections/tasks.py imports every concern's tasks).
app.autodiscover_tasks()
