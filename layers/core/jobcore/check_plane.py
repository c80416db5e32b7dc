"""The recurring-check parts wired together once, the same way for the API, dispatch and the sender."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from jobcore.check_runs import AlertTopic, CheckSettler, SnsAlertTopic
from jobcore.check_schedules import ScheduleBackend, schedule_backend
from jobcore.checks import CheckService
from jobcore.cold_start import once, settings
from jobcore.jobs import JobService
from jobcore.redis_conn import connect
from jobcore.settings import Settings
from jobcore.webhook_sender import WebhookSender
from jobcore.webhooks import WebhookService


@dataclass(frozen=True)
class CheckPlane:
    jobs: JobService
    webhooks: WebhookService
    checks: CheckService
    settler: CheckSettler
    sender: WebhookSender


def build(
    client: redis.Redis,
    settings: Settings,
    jobs: JobService | None = None,
    schedules: ScheduleBackend | None = None,
    topic: AlertTopic | None = None,
) -> CheckPlane:
    jobs = jobs or JobService(client, settings)
    webhooks = WebhookService(client, jobs.policy)  # the one egress policy, its resolver included
    checks = CheckService(client, jobs, schedules or schedule_backend(client, settings), webhooks)
    if topic is None and settings.alerts_topic_arn:
        topic = SnsAlertTopic(settings.alerts_topic_arn)
    settler = CheckSettler(client, checks, webhooks, api_url=settings.api_url, topic=topic)
    sender = WebhookSender(client, jobs.policy, timeout_s=settings.webhook_timeout_s)
    return CheckPlane(jobs, webhooks, checks, settler, sender)


@once
def from_environment() -> CheckPlane:
    """The plane of this process's settings, built once (a Lambda's cold start); the dispatch and
    notifier functions share it."""
    return build(connect(settings()), settings())
