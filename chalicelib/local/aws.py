"""An embedded moto server on loopback, and the resources the controller expects in it."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.settings import Settings

DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
}
MAX_RECEIVES = 3  # like the SQS redrive policy in AWS: then the message goes aside


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class EmbeddedAws:
    """moto's threaded server; ``endpoint`` is what AWS_ENDPOINT_URL must point at."""

    server: Any
    endpoint: str

    @classmethod
    def start(cls, host: str = "127.0.0.1") -> EmbeddedAws:
        # AWS managed policies (AmazonSSMManagedInstanceCore) exist in moto only when loaded;
        # the seed's stack attaches it to the hosts' role.
        os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        from moto.server import ThreadedMotoServer

        port = free_port(host)
        server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        server.start()
        endpoint = f"http://{host}:{port}"
        os.environ.update(DUMMY_CREDENTIALS)
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        return cls(server, endpoint)

    def stop(self) -> None:
        self.server.stop()

    def forget(self) -> None:
        """Drop everything moto holds (its state is per process, not per server)."""
        import urllib.request

        reset = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(reset, timeout=30):
            pass


def bootstrap_resources(settings: Settings, webhook_secret: str) -> Settings:
    """In moto: the bucket and the webhook secret, which the handlers read as in AWS.

    The event queue, runs, leases, idempotency records and write budgets are not here but
    in the data dir (``chalicelib.local.controller.LocalState``): moto forgets everything
    on exit.
    """
    import boto3

    boto3.client("s3").create_bucket(Bucket=settings.artifacts_bucket)
    secrets = boto3.client("secretsmanager")
    try:
        secrets.create_secret(Name=settings.webhook_secret_name, SecretString=webhook_secret)
    except secrets.exceptions.ResourceExistsException:  # a second start in this process
        secrets.put_secret_value(SecretId=settings.webhook_secret_name, SecretString=webhook_secret)
    queue = Path(settings.local_data_dir or ".") / "state" / "queue.db"
    return settings.model_copy(update={"queue_url": f"sqlite://{queue}"})
