"""``.gitops.yml`` from a hostile repository: paths, names and shapes that must be refused.

Every refusal is a ``ConfigError`` (the dispatcher turns it into a failed run with a status),
never another exception that would retry the message into the dead-letter queue.
"""

from __future__ import annotations

import pytest
import yaml

from chalicelib.pipelines import config as config_module
from chalicelib.pipelines.config import (
    MAX_CONFIG_BYTES,
    MAX_DEPTH,
    ConfigError,
    parse_config,
    repo_relative,
)

ESCAPING_PATHS = [
    "/etc",
    "/tmp/x",
    "../x",
    "a/../../x",
    "..",
    "a/..",
    "~/x",
    "a\\..\\x",
    "a\x00b",
    "",
]


def _yaml_str(value: str) -> str:
    return yaml.safe_dump(value, default_style='"').strip()


@pytest.mark.parametrize("value", ESCAPING_PATHS)
@pytest.mark.parametrize(
    "template",
    [
        "terraform: {{dir: {v}}}",
        "application: {{dir: {v}}}",
        "application: {{compose_file: {v}}}",
        "application: {{images: [{{name: acme/web, context: {v}}}]}}",
        "application: {{images: [{{name: acme/web, context: app, dockerfile: {v}}}]}}",
        "ansible: {{playbook: {v}}}",
    ],
)
def test_every_path_field_refuses_a_path_leaving_the_checkout(template, value):
    with pytest.raises(ConfigError) as raised:
        parse_config(template.format(v=_yaml_str(value)))
    field = template.split(":")[0]
    assert field in str(raised.value)


@pytest.mark.parametrize(
    "value", ["terraform/infra", ".", "app/docker-compose.yml", "infra/.hidden", "a..b/c"]
)
def test_paths_inside_the_checkout_are_kept_as_written(value):
    assert repo_relative(value) == value
    assert parse_config(f"terraform: {{dir: {_yaml_str(value)}}}").terraform.dir == value


@pytest.mark.parametrize(
    "name", ["../../x/pwn", "a/b", "/abs", ".", "..", ".hidden", "", "a b", "x" * 91, "é"]
)
def test_workspace_names_terraform_and_a_file_name_would_not_accept_are_refused(name):
    with pytest.raises(ConfigError, match=r"terraform\.workspace"):
        parse_config(f"terraform: {{workspace: {_yaml_str(name)}}}")


@pytest.mark.parametrize("name", ["default", "prod", "eu-west-1", "team_a.v2"])
def test_ordinary_workspace_names_pass(name):
    assert parse_config(f"terraform: {{workspace: {name}}}").terraform.workspace == name


@pytest.mark.parametrize("name", ["../x", "/x", "Acme/Web", "acme//web", "a:b", "acme/web "])
def test_image_names_outside_the_reference_grammar_are_refused(name):
    with pytest.raises(ConfigError, match=r"images\.0\.name"):
        parse_config(f"application: {{images: [{{name: {_yaml_str(name)}, context: app}}]}}")


@pytest.mark.parametrize("path", ["@evil.example/x", "//evil.example/", "api", "/a b", "/\n"])
def test_a_health_path_cannot_name_another_host(path):
    with pytest.raises(ConfigError, match="health_path"):
        parse_config(f"application: {{health_path: {_yaml_str(path)}}}")


def test_deep_nesting_is_a_config_error_not_a_crash():
    # 100,000 levels crash libyaml's loader outright (SIGSEGV) and overflow the pure one.
    for text in ("a: " + "[" * 100_000 + "]" * 100_000, "a: " + "{" * 100_000, "- " * 50_000):
        with pytest.raises(ConfigError, match=f"nested deeper than {MAX_DEPTH}"):
            parse_config(text)


def test_nesting_within_the_limit_parses():
    text = "cost: {policy: {thresholds: " + "[" * 5 + "]" * 5 + "}}"
    with pytest.raises(ConfigError) as raised:  # not a valid cost section, but parsed
        parse_config(text)
    assert "nested" not in str(raised.value)


def test_an_alias_bomb_is_refused_before_it_is_expanded():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    with pytest.raises(ConfigError, match="aliases are expanded"):
        parse_config("\n".join(lines))


def test_small_aliases_still_work():
    text = "p: &on {enabled: true}\npipelines: {terraform-plan: *on}"
    with pytest.raises(ConfigError, match=r"^\.gitops\.yml is invalid: p:"):
        parse_config(text)  # refused for the unknown key, not for the alias


@pytest.mark.parametrize("data", [b"terraform: {dir: \xff}\n", b"\xc3(: 1"])
def test_bytes_that_are_not_utf8_are_a_config_error(data):
    with pytest.raises(ConfigError, match="not UTF-8"):
        parse_config(data)


def test_a_str_with_a_lone_surrogate_is_a_config_error():
    # What a host decoding with surrogateescape would hand over.
    with pytest.raises(ConfigError, match="not UTF-8"):
        parse_config("terraform: {dir: \udcff}")


def test_size_is_capped_with_a_message_naming_the_limit():
    text = "# " + "x" * MAX_CONFIG_BYTES + "\n"
    with pytest.raises(ConfigError, match=f"the limit is {MAX_CONFIG_BYTES} bytes"):
        parse_config(text)
    assert parse_config("# " + "x" * (MAX_CONFIG_BYTES - 10)).terraform.dir == "terraform/infra"


def test_the_limit_counts_bytes_not_characters():
    text = "# " + "é" * (MAX_CONFIG_BYTES // 2 + 1)
    with pytest.raises(ConfigError, match="bytes"):
        parse_config(text)


def test_libyaml_is_used_where_the_wheel_has_it():
    if not yaml.__with_libyaml__:
        pytest.skip("PyYAML built without libyaml")
    assert config_module._LOADER is yaml.CSafeLoader


def test_the_safe_loader_refuses_python_tags():
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_config("terraform: !!python/object/apply:os.system ['true']")
