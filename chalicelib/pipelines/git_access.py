"""What a run's Git token may do on its repository. Pure."""

from __future__ import annotations

from chalicelib.jobs import Pipeline
from chalicelib.runs.model import Run


def git_permissions(run: Run) -> dict[str, str]:
    """Read the repository; write only for the compose commit ci-application pushes back,
    and never for a run whose code comes from a fork.

    >>> git_permissions(Run(id="r", repo="o/n", pipeline="terraform-plan", sha="a"))
    {'contents': 'read'}
    >>> git_permissions(Run(id="r", repo="o/n", pipeline="ci-application", sha="a"))
    {'contents': 'write'}
    """
    write = run.pipeline == Pipeline.CI_APPLICATION and not run.from_fork
    return {"contents": "write" if write else "read"}
