"""The environment a job carries into a container or host: the job itself and its run id."""

from __future__ import annotations

import base64

from chalicelib.jobs import JobSpec

ENV_JOB = "MAESTRO_JOB"  # base64 of the JobSpec JSON; read by ``runners.job.load_job``
ENV_RUN_ID = "MAESTRO_RUN_ID"  # read back from the service's state-change events
RUNNER_COMMAND = ["python", "-m", "runners", "run", "--job", "env"]


def job_env(job: JobSpec) -> dict[str, str]:
    encoded = base64.b64encode(job.model_dump_json().encode()).decode()
    return {ENV_JOB: encoded, ENV_RUN_ID: job.run_id}
