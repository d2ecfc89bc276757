"""Lambda handlers behind the queue, EventBridge and schedules. Each is a few lines.

``dispatch_events`` is a plain Lambda function: its SQS event source mapping (in
terraform/controller) sets ``ReportBatchItemFailures``, which Chalice's own SQS decorator
cannot. The queue is FIFO with one message group per repository, so the batch goes through
powertools' ``SqsFifoPartialProcessor``: when a repository's message fails, that repository's
later messages in the batch are returned unprocessed with it (they run after its retry, in
order) while other repositories' messages go on. A poison message reaches the DLQ after its
retries.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Rate

from chalicelib.event_types import RUNNER_DETAIL_TYPES, RUNNER_SOURCE
from chalicelib.services import get_services

workers = Blueprint(__name__)

# The runner's own events. CodeBuild, ECS and SSM state changes reach the same handler through
# rules in terraform/controller/events.tf, scoped to the runner project, cluster and document
# (a pattern here could only match every build and task of the account).
RUNNER_EVENT_PATTERN = {"source": [RUNNER_SOURCE], "detail-type": list(RUNNER_DETAIL_TYPES)}


def dispatch_record(record: Any) -> None:
    """One SQS record (powertools' ``SQSRecord``): a queued Trigger, routed to its flow."""
    from chalicelib.events.trigger import Trigger

    trigger = Trigger.model_validate_json(record.body)
    services = get_services()
    if trigger.event == "issue_comment":
        services.commands.handle(trigger)
    else:
        services.dispatcher.process(trigger)


@workers.lambda_function(name="dispatch_events")
def dispatch_events(event: dict[str, Any], context: Any) -> Any:
    from aws_lambda_powertools.utilities.batch import (
        SqsFifoPartialProcessor,
        process_partial_response,
    )

    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    return process_partial_response(
        event=event, record_handler=dispatch_record, processor=processor, context=context
    )


@workers.on_cw_event(RUNNER_EVENT_PATTERN, name="on_runner_event")
def on_runner_event(event: Any) -> None:
    get_services().runner_events.handle(event.to_dict())


@workers.schedule(Rate(5, unit=Rate.MINUTES), name="reap_stuck_runs")
def reap_stuck_runs(event: Any) -> None:
    from chalicelib.observability import logger

    ended = get_services().reaper.reap()
    logger.info("reaper pass", extra={"ended": [run.id for run in ended]})


@workers.schedule(Rate(5, unit=Rate.MINUTES), name="sweep_locks")
def sweep_locks(event: Any) -> None:
    """Expired leases and those of closed PRs pass to the next plan in line, dispatched."""
    from chalicelib.observability import logger

    services = get_services()
    released, promotions = services.locks.sweep()
    started = services.dispatcher.resume(promotions)
    logger.info(
        "lock sweep",
        extra={"released": [key.id for key in released], "dispatched": [r.id for r in started]},
    )


@workers.schedule(Rate(1, unit=Rate.MINUTES), name="flush_feedback")
def flush_feedback(event: Any) -> None:
    """Send the comments and statuses the write budget held back, once they fit again."""
    from chalicelib.observability import logger

    budgeted = get_services().budgeted_githost
    if budgeted is None:
        return  # MAESTRO_WRITE_BUDGET=off: every write went out at once
    report = budgeted.flush()
    logger.info(
        "feedback flush",
        extra={
            "sent": report.sent,
            "requeued": report.requeued,
            "superseded": report.superseded,
            "dropped": report.dropped,
        },
    )
