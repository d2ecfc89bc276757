"""The inventory step and the Ansible step (local ``ansible-playbook`` or SSM)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from chalicelib.jobs import StepSpec
from runners.context import RunContext, StepOutcome
from runners.exceptions import StepFailedError, StepSkippedError
from runners.inventory import no_hosts_reason, render_inventory
from runners.process import ProcessRunner
from runners.ssm_commands import build_apply_playbooks_kwargs, run_command
from runners.tools import find_tool
from runners.workspace import inside


def inventory(ctx: RunContext, step: StepSpec, proc: ProcessRunner) -> StepOutcome:
    outputs = ctx.outputs
    if step.params.get("outputs_uri"):
        fetched = ctx.store.get_file(step.params["outputs_uri"], ctx.scratch / "in-outputs.json")
        outputs = json.loads(fetched.read_text())
    if not step.params.get("outputs_uri") and "outputs" not in ctx.files:
        raise StepFailedError("no Terraform outputs to read: run terraform_output first")
    reason = no_hosts_reason(outputs)
    if reason:  # a stack without machines: a successful apply, nothing for Ansible
        raise StepSkippedError(reason)
    path = ctx.scratch / "inventory.ini"
    path.write_text(render_inventory(outputs))
    ctx.files["inventory"] = path
    return StepOutcome(artifacts={"inventory": ctx.store.put_file("inventory.ini", path)})


def playbook_args(
    binary: str,
    playbook: str,
    inventory: str,
    params: dict,
    vars_file: Path | None = None,
    more: Sequence[str] = (),
) -> list[str]:
    """The command line; extra variables (secrets among them) only by ``@vars_file``.

    ``more`` playbooks run after ``playbook`` in the same command, in order, with the same
    inventory, connection and variables. Ansible leaves a host that failed out of the later
    plays and still plays the others; any failure makes the exit code, and the step, fail.
    """
    args = [binary, "-i", inventory, playbook, *more]
    if params.get("connection"):
        args += ["-c", params["connection"]]
    if params.get("connection") == "local":
        # The play's modules run on this host: use the Python that runs Ansible itself.
        args += ["-e", "ansible_python_interpreter={{ ansible_playbook_python }}"]
    if params.get("limit"):
        args += ["--limit", params["limit"]]
    if params.get("tags"):
        args += ["--tags", params["tags"]]
    if vars_file is not None:
        args += ["-e", f"@{vars_file}"]
    return args


def write_vars_file(path: Path, extra_vars: dict) -> Path:
    """Extra variables as a JSON file only this user can read: never on a command line,
    where ``ps``, the step log and the run's error would show them."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(extra_vars, handle)
    return path


def _inventory_path(ctx: RunContext, given: str | None) -> str:
    """A file of the repository when it has one by that name, else the generated one."""
    if given and inside(ctx.repo_dir, given, "inventory").is_file():
        return str(inside(ctx.repo_dir, given, "inventory"))
    if "inventory" in ctx.files:
        return str(ctx.files["inventory"])
    reason = no_hosts_reason(ctx.outputs) if "outputs" in ctx.files else None
    if reason:  # the outputs were read and name no machine: nothing to play on
        raise StepSkippedError(f"no inventory: {reason}")
    raise StepFailedError("no inventory: give params.inventory or run the inventory step first")


def playbook(ctx: RunContext, step: StepSpec, proc: ProcessRunner) -> StepOutcome:
    if step.params.get("mode") == "ssm":
        return _playbook_ssm(ctx, step)
    # The project's Ansible environment carries amazon.aws and community.docker.
    binary = _local_ansible() or find_tool("ansible-playbook", ctx.env)
    if not binary:
        raise StepFailedError("ansible-playbook is not installed")
    inventory_path = _inventory_path(ctx, step.params.get("inventory"))
    params = {"connection": "local" if ctx.local_mode else None, **step.params}
    playbook_path = inside(ctx.repo_dir, step.params["playbook"], "ansible.playbook")
    more, missing = _more_playbooks(ctx, step.params.get("more_playbooks") or [])
    extra = step.params.get("extra_vars") or {}
    vars_file = write_vars_file(ctx.scratch / "extra-vars.json", extra) if extra else None
    args = playbook_args(binary, str(playbook_path), inventory_path, params, vars_file, more)
    if step.params.get("check"):
        # Local mode plays against this very machine: report what would change, change nothing.
        args.append("--check")
    env = {"ANSIBLE_NOCOLOR": "1", "ANSIBLE_HOST_KEY_CHECKING": "False"}
    try:
        done = proc.run(args, cwd=ctx.repo_dir, env=env)
    finally:
        if vars_file is not None:
            vars_file.unlink(missing_ok=True)
    if done.returncode != 0:
        raise StepFailedError(f"ansible-playbook exited {done.returncode}", done.returncode)
    return StepOutcome(reason=f"not in the repository: {', '.join(missing)}" if missing else None)


def _more_playbooks(ctx: RunContext, given: Sequence[str]) -> tuple[list[str], list[str]]:
    """(paths to play, names the repository lacks): a repository with its own monitoring
    playbook may have no app playbook beside it, and still gets its monitoring host."""
    found: list[str] = []
    missing: list[str] = []
    for name in given:
        path = inside(ctx.repo_dir, name, "ansible.more_playbooks")
        if path.is_file():
            found.append(str(path))
        else:
            missing.append(name)
    return found, missing


def _local_ansible() -> str | None:
    """The project's Ansible environment, which carries the collections the roles use."""
    candidate = Path(__file__).resolve().parents[2] / ".venv-ansible" / "bin" / "ansible-playbook"
    return str(candidate) if candidate.is_file() else None


def _playbook_ssm(ctx: RunContext, step: StepSpec) -> StepOutcome:
    """Bundle the playbook directory to S3 and apply it on the tagged instances via SSM."""
    import boto3  # lazy: only AWS runs reach here

    source = inside(ctx.repo_dir, step.params.get("bundle_dir", "ansible"), "bundle_dir")
    archive = shutil.make_archive(str(ctx.scratch / "playbooks"), "zip", source)
    bundle = ctx.store.put_file("ansible/playbooks.zip", Path(archive))
    kwargs = build_apply_playbooks_kwargs(
        bundle,
        step.params["playbook"],
        step.params.get("tag_key", "Role"),
        step.params.get("tag_value", "monitoring"),
        output_prefix=ctx.store.prefix + "ssm/ansible",
    )
    command_id, status = run_command(boto3.client("ssm"), kwargs)
    if status != "Success":
        raise StepFailedError(f"SSM command {command_id} ended {status}", 1)
    return StepOutcome(artifacts={"ansible_bundle": bundle}, reason=f"SSM {command_id}")
