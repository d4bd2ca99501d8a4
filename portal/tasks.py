"""The portal's tasks: sending an email that ``portal.emails.send_after_commit`` queued,
and putting back in the queue the jobs a vanished worker left running."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass

from django.core.mail import send_mail
from procrastinate.contrib.django import app
from procrastinate.job_context import JobContext
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CappedBackoff(BaseRetryStrategy):
    """Retry after ``first_wait`` seconds, doubling each time up to ``max_wait``, at most
    ``max_attempts`` times, and only for ``retry_exceptions``."""

    first_wait: int
    max_wait: int
    max_attempts: int
    retry_exceptions: tuple[type[BaseException], ...]

    def wait(self, attempts: int) -> int:
        """Seconds before the retry that follows ``attempts`` earlier retries."""
        return min(self.max_wait, self.first_wait * 2**attempts)

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if job.attempts >= self.max_attempts or not isinstance(exception, self.retry_exceptions):
            return None
        return RetryDecision(retry_in={"seconds": self.wait(job.attempts)})


# An SMTP server that is down, refuses us or times out (SMTPException, OSError) is retried
# after 1, 2, 4, 8 and 16 minutes, then every 30 minutes: 24 retries ride out an outage of
# about ten hours (a night), and once the server is back a message leaves within 30
# minutes. Plain exponential backoff would wait as long again as the outage lasted (hours)
# and give up sooner. Other errors are bugs: retrying would not help. A job that runs out
# of retries is kept as failed (admin: Procrastinate jobs) and logged as an error.
EMAIL_RETRY = CappedBackoff(
    first_wait=60,
    max_wait=30 * 60,
    max_attempts=24,
    retry_exceptions=(smtplib.SMTPException, OSError),
)


@app.task(queue="emails", retry=EMAIL_RETRY)
def send_email(*, subject: str, body: str, to: list[str], sender: str | None = None) -> None:
    """Send one rendered message. An attempt that raised was not accepted by the SMTP
    server, so a retry sends it again and the message leaves once (twice only if the
    connection broke after the server took it, which SMTP cannot tell apart)."""
    try:
        send_mail(subject, body, sender, to)  # None (jobs queued before): DEFAULT_FROM_EMAIL
    except EMAIL_RETRY.retry_exceptions as error:
        logger.warning("Sending %r failed: %s", subject, error)
        raise
    logger.info("Sent %r to %d recipient(s)", subject, len(to))


# A worker writes its heartbeat every 10 seconds; one silent for five minutes is gone
# (killed, its machine lost) and the jobs it was running would stay "doing" for ever.
STALLED_AFTER_SECONDS = 5 * 60


@app.periodic(cron="*/5 * * * *", periodic_id="stalled-jobs")
@app.task(queue="maintenance", queueing_lock="retry_stalled_jobs", pass_context=True)
async def retry_stalled_jobs(context: JobContext, timestamp: int | None = None) -> None:
    """Put the jobs a vanished worker left running back in the queue, for another worker.
    Every task may run twice: the billing run changes nothing twice, and an email that
    may have left is sent again rather than lost."""
    manager = context.app.job_manager
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_SECONDS):
        logger.warning(
            "Job %s (%s) was left running by a stopped worker: queued again", job.id, job.task_name
        )
        await manager.retry_job(job)
