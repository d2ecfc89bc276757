#!/usr/bin/env bash
# Shared helpers for the idempotent setup scripts in this folder.
# Each script installs only what is missing, so a second run costs seconds.
set -euo pipefail

APT_UPDATED_MARK="${TMPDIR:-/tmp}/maestrops-apt-updated"

# apt_install PKG... : install the Debian packages that are not installed yet.
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ ! -f "$APT_UPDATED_MARK" ]; then
    $sudo apt-get update -qq
    touch "$APT_UPDATED_MARK"
  fi
  echo "setup: installing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# pip_install_requirements FILE : install a requirements file into .venv once per content.
pip_install_requirements() {
  local req="$1" stamp
  stamp=".venv/.stamp-$(basename "$req")-$(sha256sum "$req" | cut -c1-12)"
  [ -f "$stamp" ] && return 0
  echo "setup: pip install -r $req"
  .venv/bin/pip install -q -r "$req"
  touch "$stamp"
}
