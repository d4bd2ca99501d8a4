"""Sign-up's jobs: creating a verified sign-up's organisation, and forgetting the sign-ups
whose time ran out; building a data export (``exports.build_export``). A job queued under a task's
earlier name (``portal.tasks``, before sign-up had an app of its own) still runs."""

from __future__ import annotations

import logging

from procrastinate.contrib.django import app

from organisations import provisioning, retention
from organisations.exports import build_export  # noqa: F401 (its job is registered here)

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


@app.periodic(cron="41 3 * * *", periodic_id="retention")
@app.task(queue="maintenance", queueing_lock="retention")
def forget_what_is_not_kept(timestamp: int | None = None) -> None:
    """Daily: what has no reason to be kept is forgotten (``retention.forget``)."""
    forgotten = retention.forget()
    if forgotten.sign_up_addresses or forgotten.exports or forgotten.organisations:
        logger.info(
            "Forgot %d sign-up IP address(es), %d expired data export(s), %d organisation(s)%s",
            forgotten.sign_up_addresses,
            forgotten.exports,
            len(forgotten.organisations),
            "".join(f" {slug}" for slug in forgotten.organisations),
        )
