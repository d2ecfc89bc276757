"""One normalized GitHub event: what routing needs, and small enough for an SQS message."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ValidationError

from chalicelib.events.exceptions import MalformedPayloadError
from chalicelib.events.models import IssueCommentEvent, PullRequestEvent, PushEvent

SUPPORTED_EVENTS = ("push", "pull_request", "issue_comment")
BRANCH_REF_PREFIX = "refs/heads/"
# The ``after`` of a push that deletes its ref: no commit, nothing to read or run.
ZERO_SHA = "0" * 40

EventName = Literal["push", "pull_request", "issue_comment"]


class Trigger(BaseModel):
    delivery_id: str
    event: EventName
    action: str | None = None
    repo: str
    clone_url: str | None = None
    sha: str
    branch: str | None = None  # push: the pushed branch; PR: the head branch
    base_branch: str | None = None  # PR: the target branch
    pr: int | None = None
    merged: bool = False
    from_fork: bool = False
    deleted: bool = False
    sender: str | None = None
    commit_message: str = ""
    commit_time: str | None = None
    comment_id: int | None = None
    comment_body: str | None = None
    comment_time: str | None = None  # when the comment was written (ISO 8601)


def trigger_from_payload(event: str, delivery_id: str, body: bytes) -> Trigger:
    """Parse a supported event's raw body into a Trigger.

    Raises ``MalformedPayloadError`` with the failing field when the body is not what GitHub
    sends for this event.
    """
    try:
        if event == "push":
            return _from_push(delivery_id, PushEvent.model_validate_json(body))
        if event == "pull_request":
            return _from_pull_request(delivery_id, PullRequestEvent.model_validate_json(body))
        if event == "issue_comment":
            return _from_issue_comment(delivery_id, IssueCommentEvent.model_validate_json(body))
    except ValidationError as exc:
        raise MalformedPayloadError(_describe(event, exc)) from None
    raise MalformedPayloadError(f"unsupported event {event!r}")


def _describe(event: str, exc: ValidationError) -> str:
    first = exc.errors()[0]
    if first["type"] == "json_invalid":
        return f"body is not valid JSON: {first['msg']}"
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{event} payload: {where}: {first['msg']}"


def _branch_name(ref: str) -> str | None:
    return ref[len(BRANCH_REF_PREFIX) :] if ref.startswith(BRANCH_REF_PREFIX) else None


def _from_push(delivery_id: str, push: PushEvent) -> Trigger:
    head = push.head_commit
    return Trigger(
        delivery_id=delivery_id,
        event="push",
        repo=push.repository.full_name,
        clone_url=push.repository.clone_url,
        sha=push.after,
        branch=_branch_name(push.ref),
        deleted=push.deleted or push.after == ZERO_SHA,
        sender=push.sender.login if push.sender else None,
        commit_message=head.message if head else "",
        commit_time=head.timestamp if head else None,
    )


def _from_pull_request(delivery_id: str, event: PullRequestEvent) -> Trigger:
    pr = event.pull_request
    head_repo = pr.head.repo.full_name if pr.head.repo else None
    return Trigger(
        delivery_id=delivery_id,
        event="pull_request",
        action=event.action,
        repo=event.repository.full_name,
        clone_url=event.repository.clone_url,
        sha=pr.head.sha,
        branch=pr.head.ref,
        base_branch=pr.base.ref,
        pr=pr.number,
        merged=bool(pr.merged),
        from_fork=head_repo != event.repository.full_name,
        sender=event.sender.login if event.sender else None,
        commit_time=pr.updated_at,
    )


def _from_issue_comment(delivery_id: str, event: IssueCommentEvent) -> Trigger:
    # The payload has no head sha: the dispatcher resolves it when it acts on a command.
    return Trigger(
        delivery_id=delivery_id,
        event="issue_comment",
        action=event.action,
        repo=event.repository.full_name,
        clone_url=event.repository.clone_url,
        sha="",
        pr=event.issue.number if event.issue.pull_request else None,
        sender=event.comment.user.login if event.comment.user else None,
        comment_id=event.comment.id,
        comment_body=event.comment.body or "",
        comment_time=event.comment.created_at,
    )
