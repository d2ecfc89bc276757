#!/usr/bin/env bash
# Tools the Terraform checks need: python-hcl2 in .venv, checkov in its own virtualenv
# (.venv-checkov: it pins many libraries that would conflict with the project's own).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/setup/lib.sh
source scripts/setup/lib.sh

CHECKOV_VERSION="3.3.30"
CHECKOV_VENV=".venv-checkov"

pip_install_requirements requirements/terraform-checks.txt

# A stamp per version: asking checkov for its version costs seconds of imports.
CHECKOV_STAMP="$CHECKOV_VENV/.stamp-checkov-$CHECKOV_VERSION"
if [ ! -f "$CHECKOV_STAMP" ] || [ ! -x "$CHECKOV_VENV/bin/checkov" ]; then
  echo "setup: installing checkov $CHECKOV_VERSION into $CHECKOV_VENV"
  test -x "$CHECKOV_VENV/bin/python" || python3 -m venv "$CHECKOV_VENV"
  "$CHECKOV_VENV/bin/pip" install -q --upgrade pip
  "$CHECKOV_VENV/bin/pip" install -q "checkov==$CHECKOV_VERSION"
  "$CHECKOV_VENV/bin/checkov" --version | grep -qx "$CHECKOV_VERSION"
  touch "$CHECKOV_STAMP"
fi
