"""Which AWS identity a run's runner gets: the plan identity or the apply identity. Pure.

A runner executes the repository's code (Terraform configurations and their providers'
data sources, Ansible playbooks, build files) with whatever AWS rights its identity holds.
Code that nobody has merged yet (a pull request's head, a push to a branch that feeds a PR)
gets the read-only plan identity. The apply identity, which writes the Terraform state and
manages the stack, is reserved for runs of merged code on a protected branch: the apply of a
reviewed plan after its merge, and what chains from it. Anything this module does not
recognise gets the plan identity: a run wrongly refused write access fails loudly, a run
wrongly given it may change the account.
"""

from __future__ import annotations

from chalicelib.jobs import Pipeline, RunnerIdentity

# Backends that start each run under the identity its job names (CodeBuild's
# serviceRoleOverride, ECS's taskRoleArn). Local runners have one identity: the user's.
IDENTITY_BACKENDS = frozenset({"codebuild", "ecs"})

# Pipelines that change the managed stack or its hosts once their code is merged.
APPLY_PIPELINES = frozenset(
    {Pipeline.TERRAFORM_APPLY, Pipeline.ANSIBLE_MONITORING, Pipeline.CD_APPLICATION}
)


def runner_identity(
    pipeline: Pipeline | str,
    branch: str | None,
    base_branch: str | None,
    from_fork: bool = False,
    protected_branches: frozenset[str] | set[str] | None = None,
) -> RunnerIdentity:
    """``"apply"`` only for an apply-type pipeline running merged code; ``"plan"`` otherwise.

    Merged code is recognised by the run being *on* its base branch (routing records a
    merged PR's run with ``branch == base_branch``; a comment-started apply keeps the PR's
    head branch) and, when given, that branch being one ``.gitops.yml`` protects. A fork's
    run never gets the apply identity, whatever its branch names say.

    >>> runner_identity("terraform-apply", "infra_main", "infra_main")
    'apply'
    >>> runner_identity("terraform-apply", "infra_features", "infra_main")  # maestro apply
    'plan'
    >>> runner_identity("terraform-plan", "infra_main", "infra_main")
    'plan'
    """
    try:
        kind = Pipeline(pipeline)
    except ValueError:
        return "plan"
    if kind not in APPLY_PIPELINES or from_fork:
        return "plan"
    if not branch or branch != base_branch:
        return "plan"
    if protected_branches is not None and branch not in protected_branches:
        return "plan"
    return "apply"


def apply_before_merge_problem(backend: str) -> str | None:
    """Why ``maestro apply`` on an open PR cannot run on ``backend``, or ``None``.

    Before the merge the code is not merged, so the run gets the plan identity, which cannot
    write the state: on a backend with identities the apply would fail after its init. Saying
    so when the command arrives beats a failed run.

    >>> apply_before_merge_problem("codebuild") is not None
    True
    >>> apply_before_merge_problem("local") is None
    True
    """
    if backend not in IDENTITY_BACKENDS:
        return None
    return (
        f"apply before merge cannot run on the {backend} backend: unmerged code runs under "
        "the read-only plan identity, which cannot write the state. Merge the PR to apply "
        "its reviewed plan"
    )
