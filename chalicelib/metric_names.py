"""CloudWatch metric names and namespace the controller emits (EMF through powertools).

The alarms and the dashboard in ``terraform/controller`` refer to these exact names; a test
reads both sides and compares them, so change them together.
"""

from __future__ import annotations

NAMESPACE = "MaestrOps"
SERVICE = "maestrops"

# Dimensions: every metric carries ``service``; the ``*_BY_PIPELINE`` ones also ``pipeline``.
WEBHOOK_ACCEPTED = "WebhookAccepted"
WEBHOOK_REJECTED = "WebhookRejected"  # bad or missing signature
WEBHOOK_IGNORED = "WebhookIgnored"  # repository outside the allow-list, unsupported event
WEBHOOK_DUPLICATE = "WebhookDuplicate"  # redelivery of a delivery id already accepted

RUNS_STARTED = "RunsStarted"
RUNS_SUCCEEDED = "RunsSucceeded"
RUNS_FAILED = "RunsFailed"
RUN_DURATION = "RunDuration"  # seconds
RUNS_BY_PIPELINE = (RUNS_STARTED, RUNS_SUCCEEDED, RUNS_FAILED, RUN_DURATION)

# Service dimension only, so that one alarm covers every deploying pipeline.
DEPLOY_FAILED = "DeployFailed"
RUNS_TIMED_OUT = "RunsTimedOut"
RUNS_UNKNOWN = "RunsUnknown"  # an apply whose outcome nobody knows until a person resolves it
MONTHLY_COST_CHANGE = "MonthlyCostChange"  # USD per merged PR

DEPLOYING_PIPELINES = ("terraform-apply", "ansible-monitoring", "cd-application")
