"""The ``.gitops.yml`` schema. Its defaults are exactly the seed's flow (DESIGN.md)."""

from __future__ import annotations

from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from chalicelib.jobs import Pipeline

CONFIG_PATH = ".gitops.yml"
Backend = Literal["local", "codebuild", "ecs", "ssm", "github-actions"]


class ConfigError(Exception):
    """``.gitops.yml`` is not valid; the message names the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Edge(_Strict):
    source: str = Field(alias="from")
    target: str = Field(alias="to")


class PipelineSettings(_Strict):
    enabled: bool = True
    backend: Backend | None = None  # None: the controller's default backend
    timeout_minutes: int = Field(default=60, ge=1, le=480)


class TerraformSettings(_Strict):
    dir: str = "terraform/infra"
    workspace: str = "default"
    feature_branch: str = "infra_features"
    main_branch: str = "infra_main"


class ImageSettings(_Strict):
    name: str
    context: str
    dockerfile: str = "Dockerfile"


class ApplicationSettings(_Strict):
    dir: str = "app"
    compose_file: str = "app/docker-compose.yml"
    integration_branch: str = "integration"
    deployment_branch: str = "deployment"
    images: list[ImageSettings] = Field(
        default_factory=lambda: [
            ImageSettings(name="maestrops/backend", context="app/backend"),
            ImageSettings(name="maestrops/frontend", context="app/frontend"),
        ]
    )
    health_path: str = "/api/health"


class AnsibleSettings(_Strict):
    playbook: str = "ansible/monitoring.yml"


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
        return [
            Edge(source=self.terraform.feature_branch, target=self.terraform.main_branch),
            Edge(
                source=self.application.integration_branch,
                target=self.application.deployment_branch,
            ),
        ]

    def protected_branches(self) -> set[str]:
        return {edge.target for edge in self.edges()}

    def pipeline(self, pipeline: Pipeline) -> PipelineSettings:
        return self.pipelines.get(pipeline, PipelineSettings())


def parse_config(text: str | None) -> GitOpsConfig:
    """Parse ``.gitops.yml``; ``None`` (no file) gives the defaults.

    >>> parse_config("terraform: {dir: infra}").terraform.dir
    'infra'
    """
    if text is None or not text.strip():
        return GitOpsConfig()
    try:
        data = yaml.safe_load(text)
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


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors()[:5]:
        where = ".".join(str(part) for part in error["loc"])
        problems.append(f"{where}: {error['msg']}")
    return f"{CONFIG_PATH} is invalid: " + "; ".join(problems)
