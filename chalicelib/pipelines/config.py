"""The ``.gitops.yml`` schema. Its defaults are exactly the seed's flow (the README's table)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from chalicelib.errors import ControllerError
from chalicelib.jobs import Pipeline, RunnerBackendName

CONFIG_PATH = ".gitops.yml"
Backend = RunnerBackendName  # what the controller can start; GitHub Actions starts itself

MAX_CONFIG_BYTES = 256 * 1024  # a real .gitops.yml is a few KiB; above this, refuse
MAX_DEPTH = 32  # nesting of mappings and sequences
MAX_NODES = 50_000  # scalars and collections once aliases are expanded (no "billion laughs")
# libyaml's safe loader where the wheel carries it: about ten times faster than pure Python.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ConfigError(ControllerError):
    """``.gitops.yml`` is not valid; the message names the field."""

    status = 422
    code = "invalid_config"


def repo_relative(value: str) -> str:
    """A path inside the checkout: relative, no ``..``, no NUL, no backslash.

    The runner checks the resolved path again (symlinks) before it uses it.

    >>> repo_relative("terraform/infra")
    'terraform/infra'
    """
    if not value or "\x00" in value or "\\" in value:
        raise ValueError("must be a non-empty path without NUL or backslash")
    if value.startswith("/") or value.startswith("~"):
        raise ValueError(f"must be relative to the repository root, not {value!r}")
    if ".." in value.split("/"):
        raise ValueError(f"must stay inside the repository: {value!r} has a '..' segment")
    return value


RepoPath = Annotated[str, AfterValidator(repo_relative)]
# A subset of what Terraform accepts (``name == url.PathEscape(name)``) that is also a safe
# file name: local mode names the state file after the workspace.
WORKSPACE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,89}$")
WorkspaceName = Annotated[str, Field(pattern=WORKSPACE_NAME.pattern)]
# An image repository as registries accept it (the distribution reference grammar, no host).
_IMAGE_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
ImageName = Annotated[str, Field(pattern=rf"^{_IMAGE_PART}(?:/{_IMAGE_PART})*$")]
# Appended to ``http://127.0.0.1`` on the host: a path only, never "@host" or "//host".
_URL_CHARS = r"A-Za-z0-9._~!$&'()*+,;=:%-"
HealthPath = Annotated[str, Field(pattern=rf"^/(?:[{_URL_CHARS}][/{_URL_CHARS}]*)?$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Edge(_Strict):
    source: str = Field(alias="from")
    target: str = Field(alias="to")


class PipelineSettings(_Strict):
    enabled: bool = True
    backend: Backend | None = None  # None: the controller's default backend
    timeout_minutes: int = Field(default=60, ge=1, le=480)

    @field_validator("backend", mode="before")
    @classmethod
    def _not_actions(cls, value: Any) -> Any:
        """GitHub Actions starts its own runs: the controller cannot dispatch to it. Said
        plainly rather than as a list of the backends it can start."""
        if value == ACTIONS_BACKEND:
            raise ValueError(
                f"{ACTIONS_BACKEND!r} is not a backend the controller starts: a repository "
                "that runs its pipelines on GitHub Actions uses the workflows of "
                ".github/workflows (runner.yml) instead of the controller's webhook, and "
                "needs no backend here"
            )
        return value


ACTIONS_BACKEND = "github-actions"  # runners/actions.py builds the jobs of those workflows


# A state object key below the repository's prefix in the state bucket: S3-safe characters,
# relative, no empty or dot segments, at most 512 bytes (well under S3's 1024 with the prefix).
STATE_KEY = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$")
MAX_STATE_KEY = 512


def state_key(value: str) -> str:
    """A ``.gitops.yml`` state key: the runner puts it under ``stacks/<owner>/<name>/``, so
    a repository can name its own state objects, never another's nor the controller's.

    >>> state_key("prod/network.tfstate")
    'prod/network.tfstate'
    """
    if len(value.encode()) > MAX_STATE_KEY:
        raise ValueError(f"must be at most {MAX_STATE_KEY} bytes")
    if not STATE_KEY.fullmatch(value):
        raise ValueError(
            "must be a relative key of letters, digits, '_', '-', '.' and '/' "
            "with no empty segment and no segment starting with '.'"
        )
    return value


class TerraformBackendSettings(_Strict):
    """The S3 backend of the Terraform directory in AWS mode. Bucket, region and lock table
    are the controller's (terraform/bootstrap); a repository may only choose its key."""

    key: Annotated[str, AfterValidator(state_key)] | None = None  # None: <dir>/<workspace>


class TerraformSettings(_Strict):
    dir: RepoPath = "terraform/infra"
    workspace: WorkspaceName = "default"
    feature_branch: str = "infra_features"
    main_branch: str = "infra_main"
    backend: TerraformBackendSettings = Field(default_factory=TerraformBackendSettings)


class ImageSettings(_Strict):
    name: ImageName
    context: RepoPath
    dockerfile: RepoPath = "Dockerfile"  # relative to ``context``


class ApplicationSettings(_Strict):
    dir: RepoPath = "app"
    compose_file: RepoPath = "app/docker-compose.yml"
    integration_branch: str = "integration"
    deployment_branch: str = "deployment"
    images: list[ImageSettings] = Field(
        default_factory=lambda: [
            ImageSettings(name="maestrops/backend", context="app/backend"),
            ImageSettings(name="maestrops/frontend", context="app/frontend"),
        ]
    )
    health_path: HealthPath = "/api/health"


class AnsibleSettings(_Strict):
    playbook: RepoPath = "ansible/monitoring.yml"


class ForkSettings(_Strict):
    plan: bool = False


ApplyRequirement = Literal["approved", "mergeable"]
APPLY_REQUIREMENTS: tuple[ApplyRequirement, ...] = ("approved", "mergeable")


class CommentApplySettings(_Strict):
    """``maestro apply`` before merge: off unless enabled, and then only when ``requires``."""

    enabled: bool = False
    requires: list[ApplyRequirement] = Field(default_factory=lambda: list(APPLY_REQUIREMENTS))


class CommentSettings(_Strict):
    behaviour: Literal["update", "new", "hide-and-new", "delete-and-new"] = "update"
    command_prefix: str = Field(default="maestro", pattern=r"^[A-Za-z0-9_./@-]+$")
    apply: CommentApplySettings = Field(default_factory=CommentApplySettings)


def _default_pipelines() -> dict[Pipeline, PipelineSettings]:
    return {pipeline: PipelineSettings() for pipeline in Pipeline}


class GitOpsConfig(_Strict):
    version: Literal[1] = 1
    terraform: TerraformSettings = Field(default_factory=TerraformSettings)
    application: ApplicationSettings = Field(default_factory=ApplicationSettings)
    ansible: AnsibleSettings = Field(default_factory=AnsibleSettings)
    allowed_edges: list[Edge] | None = None  # None: the two edges of the branches above
    pipelines: dict[Pipeline, PipelineSettings] = Field(default_factory=_default_pipelines)
    forks: ForkSettings = Field(default_factory=ForkSettings)
    comments: CommentSettings = Field(default_factory=CommentSettings)
    cost: dict[str, Any] = Field(default_factory=dict)  # chalicelib.costs.CostConfig

    @field_validator("cost")
    @classmethod
    def _cost_is_valid(cls, value: dict[str, Any]) -> dict[str, Any]:
        """Checked here so a broken cost section fails the run that reads it, by field."""
        from chalicelib.costs.policy import CostConfig

        CostConfig.model_validate(value)
        return value

    def edges(self) -> list[Edge]:
        if self.allowed_edges is not None:
            return self.allowed_edges
        terraform, application = self.terraform, self.application
        return [
            Edge.model_validate({"from": terraform.feature_branch, "to": terraform.main_branch}),
            Edge.model_validate(
                {"from": application.integration_branch, "to": application.deployment_branch}
            ),
        ]

    def protected_branches(self) -> set[str]:
        return {edge.target for edge in self.edges()}

    def pipeline(self, pipeline: Pipeline) -> PipelineSettings:
        return self.pipelines.get(pipeline, PipelineSettings())


def parse_config(text: str | bytes | None) -> GitOpsConfig:
    """Parse ``.gitops.yml``; ``None`` (no file) gives the defaults.

    Every problem with the file is a ``ConfigError`` naming it: invalid YAML or fields,
    bytes that are not UTF-8, more than ``MAX_CONFIG_BYTES``, nesting deeper than
    ``MAX_DEPTH`` or more than ``MAX_NODES`` nodes once aliases are expanded.

    >>> parse_config("terraform: {dir: infra}").terraform.dir
    'infra'
    """
    text = _as_text(text)
    if text is None or not text.strip():
        return GitOpsConfig()
    try:
        _check_shape(text)
        data = yaml.load(text, Loader=_LOADER)  # a safe loader (C or Python)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{CONFIG_PATH} is not valid YAML: {exc}") from None
    if data is None:  # only comments
        return GitOpsConfig()
    if not isinstance(data, dict):
        raise ConfigError(f"{CONFIG_PATH} must be a mapping, got {type(data).__name__}")
    try:
        return GitOpsConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except RecursionError:  # the shape check makes this unreachable; kept as a last guard
        raise ConfigError(f"{CONFIG_PATH} is nested too deeply") from None


def _as_text(text: str | bytes | None) -> str | None:
    """The file's text, refused above the size cap or when its bytes are not UTF-8."""
    if text is None:
        return None
    try:
        data = text.encode("utf-8") if isinstance(text, str) else text
        size = len(data)
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(
                f"{CONFIG_PATH} is {size} bytes; the limit is {MAX_CONFIG_BYTES} bytes"
            )
        return text if isinstance(text, str) else data.decode("utf-8")
    except (UnicodeDecodeError, UnicodeEncodeError) as exc:  # bad bytes, or lone surrogates
        raise ConfigError(f"{CONFIG_PATH} is not UTF-8 text: {exc.reason} at {exc.start}") from None


def _check_shape(text: str) -> None:
    """Refuse deep nesting and alias bombs from the event stream, before building anything.

    Composing nodes recurses: 100,000 nested ``[`` crash libyaml's loader (a segfault, not an
    exception) and exhaust Python's stack in the pure loader. The event parser does not
    recurse, and stopping at the first event too deep keeps this check cheap.
    """
    sizes: dict[str, int] = {}  # anchor -> nodes it stands for
    open_: list[tuple[str | None, int]] = []  # (anchor, node count at start)
    nodes = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.CollectionStartEvent):
            open_.append((event.anchor, nodes))
            nodes += 1
            if len(open_) > MAX_DEPTH:
                raise ConfigError(f"{CONFIG_PATH} is nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, start = open_.pop()
            if anchor:
                sizes[anchor] = nodes - start
        elif isinstance(event, yaml.ScalarEvent):
            nodes += 1
            if event.anchor:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            nodes += sizes.get(event.anchor or "", 1)
        if nodes > MAX_NODES:
            raise ConfigError(
                f"{CONFIG_PATH} has more than {MAX_NODES} values once its aliases are expanded"
            )


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors()[:5]:
        where = ".".join(str(part) for part in error["loc"])
        problems.append(f"{where}: {error['msg']}")
    return f"{CONFIG_PATH} is invalid: " + "; ".join(problems)
