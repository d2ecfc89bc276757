"""Pydantic models of the GitHub webhook payloads MaestrOps acts on.

Only the fields the controller uses are declared; everything else is ignored, so GitHub
adding fields never breaks parsing. Fields GitHub sends as ``null`` in some variants are
optional here (the tests run these models over every example of ``@octokit/webhooks-examples``).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel

# GitHub's rules: an owner is alphanumerics and single inner hyphens, at most 39 characters;
# a repository name is letters, digits, ".", "_" and "-", at most 100, never "." or "..".
_OWNER = re.compile(r"[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}")
_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")


def valid_full_name(value: str) -> str:
    """``owner/name`` as GitHub allows it; anything else never reaches a path or a glob.

    >>> valid_full_name("octo-org/hello.world")
    'octo-org/hello.world'
    """
    owner, slash, name = value.partition("/")
    if (
        not slash
        or not _OWNER.fullmatch(owner)
        or len(owner) > 39
        or not _NAME.fullmatch(name)
        or name in (".", "..")
    ):
        raise ValueError(f"not a GitHub repository name (owner/name): {value[:120]!r}")
    return value


FullName = Annotated[str, AfterValidator(valid_full_name)]


class Account(BaseModel):
    login: str


class Repository(BaseModel):
    full_name: FullName
    clone_url: str | None = None
    fork: bool = False
    default_branch: str | None = None


class Commit(BaseModel):
    id: str
    message: str = ""
    timestamp: str | None = None


class PushEvent(BaseModel):
    ref: str
    before: str
    after: str
    created: bool = False
    deleted: bool = False
    repository: Repository
    sender: Account | None = None
    head_commit: Commit | None = None


class BranchRepository(BaseModel):
    full_name: FullName


class Branch(BaseModel):
    ref: str
    sha: str
    repo: BranchRepository | None = None  # null when the fork was deleted


class PullRequest(BaseModel):
    number: int
    state: str
    merged: bool | None = None
    merge_commit_sha: str | None = None
    head: Branch
    base: Branch
    updated_at: str | None = None
    user: Account | None = None


class PullRequestEvent(BaseModel):
    action: str
    number: int
    pull_request: PullRequest
    repository: Repository
    sender: Account | None = None


class IssuePullRequestLink(BaseModel):
    url: str | None = None


class Issue(BaseModel):
    number: int
    pull_request: IssuePullRequestLink | None = None  # present only for comments on PRs


class Comment(BaseModel):
    id: int
    body: str | None = ""
    user: Account | None = None
    created_at: str | None = None  # a command plans the head as it was then


class IssueCommentEvent(BaseModel):
    action: str
    issue: Issue
    comment: Comment
    repository: Repository
    sender: Account | None = None
