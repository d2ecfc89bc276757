from __future__ import annotations

from runners.compose import rewrite_image_tags, split_image

COMPOSE = """\
# The sample application.
services:
  backend:
    # built by ci-application
    image: "registry.example.com:5000/maestrops/backend:3-1111111"  # tag set by CI
    environment:
      - DATABASE_URL=${DATABASE_URL}
  frontend:
    image: maestrops/frontend:3-1111111
  db:
    image: postgres:16  # not ours: untouched
"""


def test_tags_change_and_everything_else_stays():
    text, changed = rewrite_image_tags(
        COMPOSE, {"maestrops/backend": "4-0a3087a", "maestrops/frontend": "4-0a3087a"}
    )
    assert changed == ["backend", "frontend"]
    expected = COMPOSE.replace("3-1111111", "4-0a3087a")
    assert text == expected


def test_no_match_leaves_the_file_byte_identical():
    text, changed = rewrite_image_tags(COMPOSE, {"other/app": "9-abc"})
    assert (text, changed) == (COMPOSE, [])


def test_split_image():
    assert split_image("localhost:5000/a/b:1-abc") == ("localhost:5000/a/b", "1-abc")
    assert split_image("localhost:5000/a/b") == ("localhost:5000/a/b", None)
    assert split_image("a/b@sha256:00") == ("a/b", None)
    assert split_image("r:5000/a/b:4-abc@sha256:00") == ("r:5000/a/b", "4-abc")


def test_full_references_carry_the_registry_and_digest_and_rewrite_again():
    """The compose commit names what was pushed; the next build rewrites that line again."""
    digest = "sha256:" + "a" * 64
    registry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/p"
    text = COMPOSE
    for run in (4, 5, 6):
        ref = f"{registry}/maestrops/backend:{run}-0a3087a@{digest}"
        text, changed = rewrite_image_tags(text, {"maestrops/backend": ref})
        assert changed == ["backend"]
        (line,) = [line for line in text.splitlines() if "maestrops/backend" in line]
        # ruamel keeps the comment on its line (one space before it once the value is longer).
        assert line.split(" #")[0].strip() == f'image: "{ref}"' and "# tag set by CI" in line
        assert text.count("maestrops/backend") == 1
    assert "image: maestrops/frontend:3-1111111" in text
