"""The image step (buildah, daemonless) and the compose rewrite committed back to the branch."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from chalicelib.jobs import COMPOSE_COMMIT_MARKER, StepSpec
from runners.compose import rewrite_image_tags, validate_compose
from runners.context import RunContext, StepOutcome
from runners.exceptions import StepFailedError, StepSkippedError
from runners.process import ProcessRunner
from runners.registry import auth_file, credentials, is_loopback, registry_host
from runners.tools import find_tool
from runners.workspace import git_credentials, inside


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


def build(ctx: RunContext, step: StepSpec, proc: ProcessRunner) -> StepOutcome:
    params = step.params
    registry = _setting(ctx, params, "registry", "MAESTRO_REGISTRY")
    if not registry:
        raise StepFailedError("no registry: set MAESTRO_REGISTRY on the controller or the runner")
    host = registry_host(registry)
    # A registry on loopback (local mode's docker-registry) speaks plain HTTP.
    tls = "--tls-verify=" + ("true" if params.get("tls_verify", not is_loopback(host)) else "false")
    base = _builder(ctx, proc)
    login = credentials(host, _setting(ctx, params, "registry_secret", "MAESTRO_REGISTRY_SECRET"))
    tag = image_tag(ctx.job.run_number, ctx.job.sha)
    pushed: dict[str, str] = {}
    with auth_file(ctx.scratch / "credentials", host, login) as auth:
        for image in params["images"]:
            pushed[image["name"]] = _build_and_push(
                ctx, proc, base, tls, auth, image, registry, tag
            )
    ctx.outputs["images"] = pushed
    ctx.outputs["image_tag"] = tag
    path = ctx.scratch / "images.json"
    path.write_text(json.dumps(pushed, indent=2))
    return StepOutcome(artifacts={"images": ctx.store.put_file("images.json", path)})


def _build_and_push(
    ctx: RunContext,
    proc: ProcessRunner,
    base: list[str],
    tls: str,
    auth: list[str],
    image: dict[str, str],
    registry: str,
    tag: str,
) -> str:
    """Build and push one image; returns ``registry/name:tag@digest``, the digest pushed."""
    ref = f"{registry}/{image['name']}:{tag}"
    context = inside(ctx.repo_dir, image.get("context", "."), "images[].context")
    dockerfile = inside(
        ctx.repo_dir,
        Path(image.get("context", ".")) / image.get("dockerfile", "Dockerfile"),
        "images[].dockerfile",
    )
    digest_file = ctx.scratch / f"digest-{image['name'].replace('/', '_')}"
    bud = [*base, "bud", "--isolation", "chroot", "-f", str(dockerfile), "-t", ref, str(context)]
    push = [*base, "push", tls, *auth, "--digestfile", str(digest_file), ref, f"docker://{ref}"]
    for args, what in ((bud, "build"), (push, "push")):
        done = proc.run(args)
        if done.returncode != 0:
            raise StepFailedError(f"{what} of {ref} exited {done.returncode}", done.returncode)
    digest = digest_file.read_text().strip() if digest_file.exists() else ""
    if not DIGEST.match(digest):
        raise StepFailedError(f"push of {ref} reported no digest ({digest[:80]!r})", 1)
    return f"{ref}@{digest}"


DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def _setting(ctx: RunContext, params: dict[str, Any], name: str, env: str) -> str | None:
    """A step parameter, else the job's parameters, else the runner's environment."""
    return params.get(name) or ctx.job.parameters.get(name) or ctx.env.get(env)


def tags_wanted(params: dict[str, Any], outputs: dict[str, Any]) -> dict[str, str]:
    """Repository -> what its services' image becomes: ``images`` as that mapping (a tag or
    a full reference), or the full reference (registry, tag and pushed digest) of each named
    image this run built.

    Only an image the build step pushed is changed: a name it did not build (the build was
    skipped, or that image is not in the list) keeps the reference it has.

    >>> built = {"images": {"a": "registry/a:4-0a3087a@sha256:" + "0" * 64}}
    >>> tags_wanted({"images": ["a", "b"]}, built)["a"].startswith("registry/a:4-0a3087a@")
    True
    """
    images = params.get("images")
    if isinstance(images, dict):
        return dict(images)
    built = outputs.get("images") or {}
    return {name: built[name] for name in (images or built) if name in built}


def resolve_in_checkout(ctx: RunContext, relative: str) -> Path:
    """A path given relative to the repository root, or else to the working directory;
    either way it resolves inside the checkout."""
    from_root = inside(ctx.repo_dir, relative, "compose_file")
    if from_root.exists():
        return from_root
    return inside(ctx.repo_dir, Path(ctx.job.working_dir) / relative, "compose_file")


# The build ran the repository's Dockerfiles: no hook it could have planted runs here.
GIT_IDENTITY = (
    "-c", "user.name=maestrops", "-c", "user.email=maestrops@users.noreply.local",
    "-c", "core.hooksPath=/dev/null",
)  # fmt: skip


def _git(ctx: RunContext, proc: ProcessRunner, what: str, *args: str) -> None:
    """git in the checkout; only a push authenticates, like the clone (the job's token,
    through a file that exists for that call only)."""
    command = ["git", "-C", str(ctx.repo_dir), *GIT_IDENTITY, what, *args]
    if what == "push":
        with git_credentials(ctx.job.clone_url, ctx.env, ctx.scratch / "credentials") as env:
            done = proc.run(command, env=env)
    else:
        done = proc.run(command)
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
    tag = ctx.outputs.get("image_tag") or "of this build"
    relative = str(path.relative_to(ctx.repo_dir))
    message = f"Set image tags {tag} in {relative} {COMPOSE_COMMIT_MARKER}"
    _git(ctx, proc, "add", relative)
    _git(ctx, proc, "commit", "-q", "-m", message)
    if step.params.get("push", True) and ctx.job.branch:
        _git(ctx, proc, "push", "-q", "origin", f"HEAD:refs/heads/{ctx.job.branch}")
    compose_uri = ctx.store.put_file("docker-compose.yml", path)
    return StepOutcome(artifacts={"compose": compose_uri}, reason=f"updated {', '.join(changed)}")
