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
    assert split_image("a/b@sha256:00") == ("a/b@sha256:00", None)
