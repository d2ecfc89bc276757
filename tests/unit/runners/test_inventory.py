from __future__ import annotations

import pytest
from pydantic import ValidationError

from runners.inventory import render_inventory

OUTPUTS = {
    "domain": "example.com",
    "hosts": {
        "monitoring": [
            {
                "name": "monitoring-1",
                "instance_id": "i-0456",
                "public_ip": "203.0.113.11",
                "private_ip": "10.0.1.11",
                "dns_name": "grafana.example.com",
            }
        ],
        "app": [
            {
                "name": "app-1",
                "instance_id": "i-0123",
                "public_ip": "203.0.113.10",
                "private_ip": "10.0.1.10",
                "dns_name": "example.com",
            }
        ],
    },
}


def test_inventory_matches_the_documented_format():
    assert render_inventory(OUTPUTS) == (
        "[app]\n"
        "app-1 ansible_host=i-0123 instance_id=i-0123 public_ip=203.0.113.10"
        " private_ip=10.0.1.10 dns_name=example.com\n"
        "[monitoring]\n"
        "monitoring-1 ansible_host=i-0456 instance_id=i-0456 public_ip=203.0.113.11"
        " private_ip=10.0.1.11 dns_name=grafana.example.com\n"
        "[all:vars]\n"
        "domain=example.com\n"
    )


def test_missing_addresses_are_left_out_and_extra_roles_follow():
    outputs = {"hosts": {"db": [{"name": "db-1", "instance_id": "i-9"}], "app": []}}
    assert render_inventory(outputs) == "[app]\n[db]\ndb-1 ansible_host=i-9 instance_id=i-9\n"


def test_a_host_without_instance_id_is_refused():
    with pytest.raises(ValidationError):
        render_inventory({"hosts": {"app": [{"name": "app-1"}]}})
