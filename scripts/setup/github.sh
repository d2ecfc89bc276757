#!/usr/bin/env bash
# GitHub feedback: GitHub's own OpenAPI
# description (npm @octokit/openapi), which the fake GitHub server in the tests checks every
# request against. Only the one member the tests read is kept (13 MB of a 29 MB package).
set -euo pipefail
# shellcheck source=scripts/setup/lib.sh
source scripts/setup/lib.sh

OPENAPI_VERSION="23.0.2"
OPENAPI_DIR=".cache/octokit-openapi/${OPENAPI_VERSION}"
OPENAPI_FILE="${OPENAPI_DIR}/api.github.com.json"
if [ ! -s "$OPENAPI_FILE" ]; then
  echo "setup: fetching @octokit/openapi@${OPENAPI_VERSION} (api.github.com.json)"
  mkdir -p "$OPENAPI_DIR"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack "@octokit/openapi@${OPENAPI_VERSION}" --silent >/dev/null)
  tar -xzf "$tmp/octokit-openapi-${OPENAPI_VERSION}.tgz" -C "$tmp" package/generated/api.github.com.json package/LICENSE
  mv "$tmp/package/LICENSE" "${OPENAPI_DIR}/LICENSE"
  # Moved last, so an interrupted run leaves no half-written file behind.
  mv "$tmp/package/generated/api.github.com.json" "$OPENAPI_FILE"
fi
