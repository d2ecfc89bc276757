"""Pure pieces: stale-plan reasons, redaction, cost availability, tags, plugin layout, SSM."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runners.plugins import ensure_plugin_dir, platform_dir
from runners.process import ProcessRunner, mask_secrets, secret_values
from runners.ssm_commands import (
    build_apply_playbooks_kwargs,
    build_shell_script_kwargs,
)
from runners.steps.cost import unavailable_reason
from runners.steps.deploy import SCRIPT, script_args
from runners.steps.images import image_tag
from runners.steps.terraform import stale_reason
from runners.workspace import git_credentials

SHA = "0a3087a" + "1" * 33


def test_stale_reason():
    meta = {"sha": SHA, "state": {"serial": 4, "lineage": "L"}}
    assert stale_reason(meta, SHA, {"serial": 4, "lineage": "L"}) is None
    moved = stale_reason(meta, SHA, {"serial": 5, "lineage": "L"})
    assert moved and "serial 4 -> 5, lineage same" in moved
    assert "lineage changed" in stale_reason(meta, SHA, {"serial": 4, "lineage": "M"})
    other = stale_reason(meta, "b" * 40, {"serial": 4, "lineage": "L"})
    assert other and other.startswith("the plan was made for 0a3087a11111, not bbbbbbbbbbbb")


def test_secrets_are_redacted(tmp_path):
    env = {"GITHUB_TOKEN": "ghs_abcdef123456", "PATH": os.environ["PATH"], "HOME": "/root"}
    assert secret_values(env) == ["ghs_abcdef123456"]
    assert mask_secrets("token ghs_abcdef123456 used", ["ghs_abcdef123456"]) == "token *** used"
    runner = ProcessRunner(tmp_path / "log", env, echo=False)
    # Tools never inherit the token; a call that needs it passes it, and its output is masked.
    assert runner.run(["sh", "-c", 'echo "[$GITHUB_TOKEN]"']).tail == "[]\n"
    done = runner.run(["sh", "-c", 'echo "header: $GITHUB_TOKEN"'], env=env)
    assert done.tail == "header: ***\n"
    assert "ghs_" not in (tmp_path / "log").read_text()


def test_git_token_goes_through_a_private_file_removed_after_the_call(tmp_path):
    url, env = "https://github.com/acme/infra.git", {"MAESTRO_GIT_TOKEN": "t0ken-value"}
    with git_credentials(url, env, tmp_path / "credentials") as git_env:
        (token_file,) = (tmp_path / "credentials").glob("*/token")
        assert token_file.read_text() == "t0ken-value"
        assert token_file.stat().st_mode & 0o777 == 0o600
        assert token_file.parent.stat().st_mode & 0o777 == 0o700
        assert "t0ken-value" not in repr(git_env) and git_env["GIT_CONFIG_VALUE_0"] == ""
    assert list((tmp_path / "credentials").iterdir()) == []
    with git_credentials("/srv/repos/acme/infra", env, tmp_path / "credentials") as git_env:
        assert git_env == {"GIT_TERMINAL_PROMPT": "0"}


def test_cost_unavailable_reasons():
    assert unavailable_reason(None, {}) == "no infracost binary on PATH"
    assert unavailable_reason("/bin/infracost", {}) == "INFRACOST_API_KEY is not set"
    assert unavailable_reason("/bin/infracost", {"INFRACOST_API_KEY": "k"}) is None


def test_image_tag():
    assert image_tag(4, SHA) == "4-0a3087a"


def test_plugin_dir_layout(tmp_path):
    ensure_plugin_dir(tmp_path)
    ensure_plugin_dir(tmp_path)  # idempotent
    target = tmp_path / "registry.terraform.io/hashicorp/null/2.1.2" / platform_dir()
    (binary,) = target.iterdir()
    assert binary.name == "terraform-provider-null_v2.1.2_x4"
    assert os.access(binary, os.X_OK)


def test_ansible_over_ssm_request():
    kwargs = build_apply_playbooks_kwargs(
        "s3://maestrops-artifacts/runs/r/ansible/playbooks.zip",
        "monitoring.yml",
        "Role",
        "monitoring",
        output_prefix="s3://maestrops-artifacts/runs/r/ssm/ansible",
    )
    assert kwargs["DocumentName"] == "AWS-ApplyAnsiblePlaybooks"
    assert kwargs["Targets"] == [{"Key": "tag:Role", "Values": ["monitoring"]}]
    assert kwargs["Parameters"]["SourceInfo"] == [
        '{"path": "https://maestrops-artifacts.s3.amazonaws.com/runs/r/ansible/playbooks.zip"}'
    ]
    assert kwargs["OutputS3BucketName"] == "maestrops-artifacts"
    assert kwargs["OutputS3KeyPrefix"] == "runs/r/ssm/ansible"


def test_deploy_script_is_shipped_verbatim_to_ssm():
    params = {"secret_id": "app/prod", "compose_file": "app/docker-compose.yml"}
    args = script_args(params, "/opt/app")
    assert args[-2:] == ["--compose-file", "docker-compose.yml"]
    kwargs = build_shell_script_kwargs(SCRIPT, args, "Role", "app")
    commands = kwargs["Parameters"]["commands"]
    assert SCRIPT.read_text().rstrip() in commands[2]
    assert commands[3].startswith("bash \"$tmp\" '--app-dir' '/opt/app' '--secret-id' 'app/prod'")


@pytest.mark.parametrize("name", ["compose-deploy.sh"])
def test_scripts_are_executable(name):
    assert os.access(Path(SCRIPT).with_name(name), os.X_OK)


def test_find_provider_mirror(tmp_path):
    from runners.plugins import find_provider_mirror

    env = {"HOME": str(tmp_path / "home"), "XDG_DATA_DIRS": str(tmp_path / "none")}
    assert find_provider_mirror("hashicorp/aws", env) is None
    mirror = tmp_path / "mirror"
    (mirror / "registry.terraform.io/hashicorp/aws/5.100.0" / platform_dir()).mkdir(parents=True)
    env["MAESTRO_TF_PROVIDER_MIRRORS"] = f"{tmp_path / 'empty'}{os.pathsep}{mirror}"
    assert find_provider_mirror("hashicorp/aws", env) == mirror
    assert find_provider_mirror("hashicorp/null", env) is None
    packed = tmp_path / "home" / ".terraform.d" / "plugins" / "registry.terraform.io/hashicorp/null"
    packed.mkdir(parents=True)
    (packed / f"terraform-provider-null_2.1.2_{platform_dir()}.zip").write_bytes(b"")
    assert find_provider_mirror("hashicorp/null", env) == packed.parents[2]
