#!/usr/bin/env bash
# The sample application (app/): PostgreSQL for the backend tests, Chromium for the
# frontend end-to-end test, the backend's Python pins, and the frontend's npm packages.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/setup/lib.sh

apt_install postgresql chromium
pip_install_requirements requirements/app.txt

# npm ci only when node_modules is missing or was installed from another lock file.
frontend=app/frontend
lock_sum="$(sha256sum "$frontend/package-lock.json" | cut -c1-16)"
stamp="$frontend/node_modules/.stamp-$lock_sum"
if [ ! -f "$stamp" ]; then
  echo "setup: npm ci in $frontend"
  (cd "$frontend" && npm ci --no-audit --no-fund --loglevel=error)
  touch "$stamp"
fi
