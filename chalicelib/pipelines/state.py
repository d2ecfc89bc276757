"""Where a managed stack keeps its Terraform state in AWS mode: the S3 backend settings that
``terraform init`` receives as ``-backend-config`` values. Pure.

The bucket, region and lock table are the controller's (terraform/bootstrap's outputs,
through terraform/controller into ``Settings``); the key is the repository's, always under
``stacks/<owner>/<name>/`` so that the runner roles' state rights (terraform/controller
iam.tf) can be scoped to ``stacks/*`` and no repository names the controller's own state.
"""

from __future__ import annotations

import posixpath

from chalicelib.pipelines.config import WORKSPACE_NAME, TerraformSettings, state_key
from chalicelib.settings import Settings

STATE_PREFIX = "stacks/"


def state_object_key(repo: str, terraform: TerraformSettings) -> str:
    """``stacks/<owner>/<name>/`` plus ``.gitops.yml``'s key, else ``<dir>/<workspace>.tfstate``.

    >>> state_object_key("acme/infra", TerraformSettings())
    'stacks/acme/infra/terraform/infra/default.tfstate'
    >>> state_object_key("acme/infra", TerraformSettings(dir="."))
    'stacks/acme/infra/_root/default.tfstate'
    """
    owner, _, name = repo.partition("/")
    if not owner or not name or "/" in name:
        raise ValueError(f"repository {repo!r} is not owner/name")
    if not WORKSPACE_NAME.fullmatch(terraform.workspace):
        raise ValueError(f"workspace {terraform.workspace!r} is not a valid workspace name")
    if terraform.backend.key is not None:
        relative = terraform.backend.key
    else:
        folder = posixpath.normpath(terraform.dir.strip("/"))
        folder = "_root" if folder in ("", ".") else folder
        relative = f"{folder}/{terraform.workspace}.tfstate"
    # Checked again whatever its source: owner/name come from the webhook, dir from the file.
    state_key(f"{owner}/{name}/{relative}")
    return f"{STATE_PREFIX}{owner}/{name}/{relative}"


def s3_backend_config(
    repo: str, terraform: TerraformSettings, settings: Settings
) -> dict[str, str]:
    """The ``-backend-config`` values of ``terraform init``; empty when no bucket is set."""
    if not settings.state_bucket:
        return {}
    config = {
        "bucket": settings.state_bucket,
        "key": state_object_key(repo, terraform),
        "region": settings.state_region or settings.region,
        "encrypt": "true",
    }
    if settings.state_lock_table:
        config["dynamodb_table"] = settings.state_lock_table
    return config
