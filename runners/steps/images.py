"""The image step (buildah, daemonless) and the compose rewrite committed back to the branch."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from chalicelib.jobs import COMPOSE_COMMIT_MARKER, StepSpec
from runners.compose import rewrite_image_tags, validate_compose
from runners.context import RunContext, StepOutcome
from runners.exceptions import StepFailedError, StepSkippedError
from runners.process import ProcessRunner
from runners.tools import find_tool
from runners.workspace import auth_env, inside


def image_tag(run_number: int, sha: str) -> str:
    """``<run_number>-<short_sha>``, e.g. ``4-0a3087a``."""
    return f"{run_number}-{sha[:7]}"


def buildah_base(binary: str, storage: Path) -> list[str]:
    """buildah with vfs storage under the run's scratch: no daemon, no overlay, no root mount."""
    return [
        binary,
        "--root", str(storage / "root"),
        "--runroot", str(storage / "run"),
        "--storage-driver", "vfs",
    ]  # fmt: skip


def _builder(ctx: RunContext, proc: ProcessRunner) -> list[str]:
    """The buildah command prefix, or skip with the measured reason when it cannot run."""
    binary = find_tool("buildah", ctx.env)
    if not binary:
        raise StepSkippedError("buildah is not installed")
    base = buildah_base(binary, ctx.scratch / "containers")
    probe = proc.run([*base, "info"], capture=True)
    if probe.returncode != 0:
        raise StepSkippedError(f"buildah cannot run here: {probe.tail.strip()[-200:]}")
    return base


def _authfile(ctx: RunContext, registry: str, secret_id: str | None) -> list[str]:
    """Registry credentials from Secrets Manager as an auth file (mode 600), never in argv."""
    if not secret_id:
        return []
    import boto3  # lazy: local registries need no credentials

    secret = json.loads(
        boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    )
    auth = base64.b64encode(f"{secret['username']}:{secret['password']}".encode()).decode()
    path = ctx.scratch / "auth.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"auths": {registry: {"auth": auth}}}, handle)
    return ["--authfile", str(path)]


def build(ctx: RunContext, step: StepSpec, proc: ProcessRunner) -> StepOutcome:
    params = step.params
    registry = _setting(ctx, params, "registry", "MAESTRO_REGISTRY")
    if not registry:
        raise StepFailedError("no registry: set params.registry, job parameter or MAESTRO_REGISTRY")
    # A registry on loopback (local mode's docker-registry) speaks plain HTTP.
    loopback = registry.split(":")[0] in ("localhost", "127.0.0.1", "[::1]")
    tls = "--tls-verify=" + ("true" if params.get("tls_verify", not loopback) else "false")
    base = _builder(ctx, proc)
    auth = _authfile(ctx, registry, params.get("registry_secret"))
    tag = image_tag(ctx.job.run_number, ctx.job.sha)
    pushed: dict[str, str] = {}
    for image in params["images"]:
        ref = f"{registry}/{image['name']}:{tag}"
        context = inside(ctx.repo_dir, image.get("context", "."), "images[].context")
        dockerfile = inside(
            ctx.repo_dir,
            Path(image.get("context", ".")) / image.get("dockerfile", "Dockerfile"),
            "images[].dockerfile",
        )
        bud = [
            *base,
            "bud",
            "--isolation",
            "chroot",
            "-f",
            str(dockerfile),
            "-t",
            ref,
            str(context),
        ]
        push = [*base, "push", tls, *auth, ref, f"docker://{ref}"]
        for args, what in ((bud, "build"), (push, "push")):
            done = proc.run(args)
            if done.returncode != 0:
                raise StepFailedError(f"{what} of {ref} exited {done.returncode}", done.returncode)
        pushed[image["name"]] = ref
    ctx.outputs["images"] = pushed
    ctx.outputs["image_tag"] = tag
    path = ctx.scratch / "images.json"
    path.write_text(json.dumps(pushed, indent=2))
    return StepOutcome(artifacts={"images": ctx.store.put_file("images.json", path)})


def _setting(ctx: RunContext, params: dict[str, Any], name: str, env: str) -> str | None:
    """A step parameter, else the job's parameters, else the runner's environment."""
    return params.get(name) or ctx.job.parameters.get(name) or ctx.env.get(env)


def tags_wanted(params: dict[str, Any], outputs: dict[str, Any]) -> dict[str, str]:
    """Repository -> tag: ``images`` as that mapping, or the named images this run built.

    Only an image the build step pushed gets this run's tag: a name it did not build (the
    build was skipped, or that image is not in the list) keeps the tag it has.

    >>> built = {"images": {"a": "registry/a:4-0a3087a"}, "image_tag": "4-0a3087a"}
    >>> tags_wanted({"images": ["a", "b"]}, built)
    {'a': '4-0a3087a'}
    """
    images = params.get("images")
    if isinstance(images, dict):
        return dict(images)
    built = outputs.get("images") or {}
    names = [name for name in (images or built) if name in built]
    return {name: outputs["image_tag"] for name in names}


def resolve_in_checkout(ctx: RunContext, relative: str) -> Path:
    """A path given relative to the repository root, or else to the working directory;
    either way it resolves inside the checkout."""
    from_root = inside(ctx.repo_dir, relative, "compose_file")
    if from_root.exists():
        return from_root
    return inside(ctx.repo_dir, Path(ctx.job.working_dir) / relative, "compose_file")


GIT_IDENTITY = ("-c", "user.name=maestrops", "-c", "user.email=maestrops@users.noreply.local")


def _git(ctx: RunContext, proc: ProcessRunner, what: str, *args: str) -> None:
    """git in the checkout; a push authenticates like the clone (token via the env)."""
    env = auth_env(ctx.job.clone_url, ctx.env)
    done = proc.run(["git", "-C", str(ctx.repo_dir), *GIT_IDENTITY, what, *args], env=env)
    if done.returncode != 0:
        raise StepFailedError(f"git {what} exited {done.returncode}", done.returncode)


def compose_rewrite(ctx: RunContext, step: StepSpec, proc: ProcessRunner) -> StepOutcome:
    path = resolve_in_checkout(ctx, step.params.get("compose_file", "docker-compose.yml"))
    for when in ("before", "after"):
        ok, message = validate_compose(path)
        if not ok:
            raise StepFailedError(f"{path.name} fails the compose schema {when} rewrite: {message}")
        if when == "before":
            wanted = tags_wanted(step.params, ctx.outputs)
            if not wanted:
                raise StepSkippedError("no image was built by this run: no tag to set")
            text, changed = rewrite_image_tags(path.read_text(), wanted)
            path.write_text(text)
    if not changed:
        return StepOutcome(reason="no image of the compose file was built")
    tag = ctx.outputs.get("image_tag", "")
    relative = str(path.relative_to(ctx.repo_dir))
    message = f"Set image tags {tag} in {relative} {COMPOSE_COMMIT_MARKER}"
    _git(ctx, proc, "add", relative)
    _git(ctx, proc, "commit", "-q", "-m", message)
    if step.params.get("push", True) and ctx.job.branch:
        _git(ctx, proc, "push", "-q", "origin", f"HEAD:refs/heads/{ctx.job.branch}")
    compose_uri = ctx.store.put_file("docker-compose.yml", path)
    return StepOutcome(artifacts={"compose": compose_uri}, reason=f"updated {', '.join(changed)}")
