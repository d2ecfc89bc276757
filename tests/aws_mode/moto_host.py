"""AWS for the AWS-mode test: moto's ThreadedMotoServer on loopback, in its own process.

``python -m tests.aws_mode.moto_host PORT_FILE`` starts it on a free port, writes the port to
PORT_FILE and serves until terminated. Its own process keeps moto's CPU off the test's
interpreter, and gives moto's request recorder (``MOTO_RECORDER_FILEPATH``) its own file.

Two gaps of moto 5.2.5 that stop ``terraform/controller`` from applying are closed here, and
only these (each is how AWS behaves):

- SQS keeps no ``RedriveAllowPolicy``: it accepts the attribute but never returns it, so the
  AWS provider waits forever for the dead-letter queue's attributes to settle.
- CodeBuild refuses a ``NO_SOURCE`` project without a source location, which AWS accepts
  (the runner's project has no source: the runner clones the job's repository itself).
- ECS ``RunTask`` fails (a 500) on a Fargate task definition whose container has no memory
  of its own, which Fargate allows (the task's memory is the limit): moto sums the
  containers' memory for container-instance placement, which Fargate tasks never use.

One more, for the hosts a test plays: moto marks every SSM command invocation ``Success`` the
moment it is sent, whatever the host would do. With ``MOTO_SSM_HOSTS`` (a directory) set, each
sent command is written there (``<command id>.sent.json``) and its invocations stay
``InProgress`` until the test, having run the command as the host, writes the outcome
(``<command id>.<instance id>.json``: Status, ResponseCode, output) that
``GetCommandInvocation`` then returns.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
import time
from pathlib import Path


def patch_moto() -> None:
    from moto.codebuild import responses as codebuild_responses
    from moto.sqs.models import Queue

    if "RedriveAllowPolicy" not in Queue.BASE_ATTRIBUTES:
        Queue.BASE_ATTRIBUTES.append("RedriveAllowPolicy")
        Queue.redrive_allow_policy = None  # type: ignore[attr-defined]

    validate = codebuild_responses._validate_required_params_source

    def validate_source(source: dict) -> None:
        if source.get("type") == "NO_SOURCE":
            return
        validate(source)

    codebuild_responses._validate_required_params_source = validate_source

    from moto.ecs.models import EC2ContainerServiceBackend

    calculate = EC2ContainerServiceBackend._calculate_task_resource_requirements
    memory_keys = ("memory", "memoryReservation", "Memory", "MemoryReservation")

    def requirements(task_definition):  # type: ignore[no-untyped-def]
        containers = task_definition.container_definitions
        task_definition.container_definitions = [
            c if any(c.get(k) is not None for k in memory_keys) else {**c, "memory": 0}
            for c in containers
        ]
        try:
            return calculate(task_definition)
        finally:
            task_definition.container_definitions = containers

    EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(requirements)  # type: ignore[method-assign,assignment]


def patch_ssm_hosts(folder: Path) -> None:
    from moto.ssm.models import Command, SimpleSystemManagerBackend

    send = SimpleSystemManagerBackend.send_command

    def send_command(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        # The ids as sent: moto's Command adds every instance of the account to a command
        # sent without Targets (its target filter is then empty), in the caller's own list.
        asked = inspect.signature(send).bind(self, *args, **kwargs).arguments["instance_ids"]
        asked = list(asked or [])
        command = send(self, *args, **kwargs)
        sent = {
            "CommandId": command.command_id,
            "InstanceIds": asked,
            "DocumentName": command.document_name,
            "Parameters": command.parameters,
            "OutputS3KeyPrefix": command.output_s3_key_prefix,
        }
        partial = folder / f"{command.command_id}.sent.part"
        partial.write_text(json.dumps(sent))
        partial.rename(folder / f"{command.command_id}.sent.json")  # whole or absent
        return command

    SimpleSystemManagerBackend.send_command = send_command  # type: ignore[method-assign]
    get = Command.get_invocation

    def get_invocation(self, instance_id, plugin_name):  # type: ignore[no-untyped-def]
        invocation = dict(get(self, instance_id, plugin_name))
        outcome = folder / f"{self.command_id}.{instance_id}.json"
        if not outcome.exists():
            return {**invocation, "Status": "InProgress", "StatusDetails": "InProgress",
                    "ResponseCode": -1}  # fmt: skip
        reported = json.loads(outcome.read_text())
        return {**invocation, **reported, "StatusDetails": reported["Status"]}

    Command.get_invocation = get_invocation  # type: ignore[method-assign]


def main() -> None:
    port_file = Path(sys.argv[1])
    patch_moto()
    if os.environ.get("MOTO_SSM_HOSTS"):
        patch_ssm_hosts(Path(os.environ["MOTO_SSM_HOSTS"]))
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port_file.write_text(str(server.get_host_and_port()[1]))
    try:
        while True:
            time.sleep(3600)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
