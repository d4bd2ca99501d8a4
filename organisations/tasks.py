"""Sign-up's jobs: creating a verified sign-up's organisation, and forgetting the sign-ups
whose time ran out. A job queued under a task's
earlier name (``portal.tasks``, before sign-up had an app of its own) still runs."""

from __future__ import annotations

import logging

from procrastinate.contrib.django import app

from organisations import provisioning

logger = logging.getLogger(__name__)


@app.task(queue="sign_ups", aliases=["portal.tasks.provision_sign_up"])
def provision_sign_up(*, sign_up_id: int) -> None:
    """Create the organisation of a verified sign-up (``provisioning.provision``: a
    second run changes nothing; a failure is kept on the sign-up, not retried here)."""
    provisioning.provision(sign_up_id)


@app.periodic(cron="23 * * * *", periodic_id="expire-sign-ups")
@app.task(
    queue="maintenance", queueing_lock="expire_sign_ups", aliases=["portal.tasks.expire_sign_ups"]
)
def expire_sign_ups(timestamp: int | None = None) -> None:
    """Hourly: forget the sign-ups whose time ran out, freeing their addresses."""
    if expired := provisioning.expire_sign_ups():
        logger.info("Forgot %d sign-up(s) past their time", expired)
