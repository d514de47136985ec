"""The Celery application: configured from Django settings (``CELERY_*``)."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("qingshan")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Three queues so media processing and email fan-out never starve each other.
app.conf.task_queues = (Queue("default"), Queue("media"), Queue("email"))
app.autodiscover_tasks()
# The cases area keeps its tasks beside the general tasks module.
app.autodiscover_tasks(related_name="tasks_cases")
# The digests area's tasks, likewise.
app.autodiscover_tasks(related_name="tasks_digests")
