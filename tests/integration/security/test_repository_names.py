"""Repository names from webhooks never become paths outside local mode's folders."""

from __future__ import annotations

import subprocess

import pytest

from chalicelib.githost.base import CommitStatus, GitHostError, PullRequestHead
from chalicelib.githost.local import LocalGitHost
from chalicelib.pipelines.config import CONFIG_PATH, ConfigError, parse_config
from tests.gitrepo import commit_files, git
from tests.integration.security.tree import snapshot

HOSTILE = ["acme/../x", "../../etc/x", "acme/b/../../../y", "acme/..", "/tmp/x", "acme/x/../../.."]


@pytest.fixture
def host(tmp_path):
    repos, outbox = tmp_path / "data" / "repos", tmp_path / "data" / "outbox"
    commit_files(repos / "acme" / "infra", {"README.md": "hi\n"})
    outbox.mkdir(parents=True)
    return tmp_path, LocalGitHost(str(repos), str(outbox))


@pytest.mark.parametrize("name", HOSTILE)
def test_no_write_of_the_local_git_host_leaves_the_outbox(host, name):
    root, githost = host
    before = snapshot(root)
    status = CommitStatus(state="success", context="maestrops/x", description="d")
    writes = [
        lambda: githost.post_comment(name, 1, "body", thread="plan"),
        lambda: githost.set_status(name, "a" * 40, status),
        lambda: githost.add_reaction(name, 1),
        lambda: githost.record_pull_request(name, 1, PullRequestHead("a" * 40, "f", "m")),
        lambda: githost.read_file(name, CONFIG_PATH, "a" * 40),
        lambda: githost.repository_role(name, "octocat"),
    ]
    for write in writes:
        with pytest.raises(GitHostError):
            write()
    assert snapshot(root) == before


def test_a_well_formed_name_still_gets_its_outbox(host):
    root, githost = host
    githost.post_comment("acme/infra", 1, "body", thread="plan")
    assert (root / "data" / "outbox" / "acme" / "infra" / "comments" / "1-plan.md").exists()


def test_an_outbox_folder_linked_outside_is_refused(host, tmp_path):
    root, githost = host
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "data" / "outbox" / "acme").mkdir()
    (root / "data" / "outbox" / "acme" / "infra").symlink_to(outside)
    with pytest.raises(GitHostError, match="would leave"):
        githost.post_comment("acme/infra", 1, "body", thread="plan")
    assert list(outside.iterdir()) == []


def test_a_config_that_is_not_utf8_is_a_named_error_not_a_crash(host):
    root, githost = host
    repo = root / "data" / "repos" / "acme" / "infra"
    (repo / CONFIG_PATH).write_bytes(b"terraform: {dir: \xff\xfe}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "latin-1")
    sha = git(repo, "rev-parse", "HEAD")
    with pytest.raises(GitHostError, match=r"\.gitops\.yml at .* is not UTF-8 text"):
        githost.read_file("acme/infra", CONFIG_PATH, sha)
    # What a host hands over as bytes meets the same rule in the parser.
    raw = subprocess.run(
        ["git", "-C", str(repo), "show", f"{sha}:{CONFIG_PATH}"], capture_output=True, check=True
    ).stdout
    with pytest.raises(ConfigError, match="not UTF-8"):
        parse_config(raw)
