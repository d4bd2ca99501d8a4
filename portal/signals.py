"""Events the base publishes for the apps above it to hook: the base names none of them."""

from django.dispatch import Signal

# Sent by ``manage.py worker`` as it starts, before it works the queue (no arguments).
# Procrastinate does not run the periodic tasks missed while no worker ran: an app whose
# periodic work must catch up queues it here (subscriptions: the billing run).
worker_starting = Signal()
