"""EventBridge detail-types of the runner's own events (source ``maestrops.runner``).

Kept free of pydantic so that app.py can build its event pattern without paying for models.
"""

from __future__ import annotations

RUNNER_SOURCE = "maestrops.runner"
DETAIL_RUN_STARTED = "MaestrOps Run Started"
DETAIL_STEP_STARTED = "MaestrOps Step Started"  # current_step: the live commit status
DETAIL_STEP_FINISHED = "MaestrOps Step Finished"
DETAIL_RUN_FINISHED = "MaestrOps Run Finished"
DETAIL_HEARTBEAT = "MaestrOps Run Heartbeat"
RUNNER_DETAIL_TYPES = (
    DETAIL_RUN_STARTED,
    DETAIL_STEP_STARTED,
    DETAIL_STEP_FINISHED,
    DETAIL_RUN_FINISHED,
    DETAIL_HEARTBEAT,
)
