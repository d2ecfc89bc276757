"""``inventory.ini`` from the Terraform outputs ``domain`` and ``hosts`` (role -> hosts)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

GROUP_ORDER = ("app", "monitoring")
HOST_FIELDS = ("instance_id", "public_ip", "private_ip", "dns_name")


class Host(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    instance_id: str
    public_ip: str | None = None
    private_ip: str | None = None
    dns_name: str | None = None


class InventoryOutputs(BaseModel):
    model_config = ConfigDict(extra="ignore")

    domain: str | None = None
    hosts: dict[str, list[Host]]


def no_hosts_reason(outputs: dict[str, Any]) -> str | None:
    """Why the outputs give no inventory (a stack without a ``hosts`` output), or None.

    Such a stack is fine to apply; it only has no machines for Ansible to configure.

    >>> no_hosts_reason({"release_id": "42"})
    "the Terraform outputs have no 'hosts' (outputs: release_id): no machines to configure"
    """
    if outputs.get("hosts"):
        return None
    names = ", ".join(sorted(outputs)) or "none"
    return f"the Terraform outputs have no 'hosts' (outputs: {names}): no machines to configure"


def _line(host: Host) -> str:
    # ansible_host is the instance id: the aws_ssm connection addresses instances by id.
    parts = [host.name, f"ansible_host={host.instance_id}"]
    parts += [f"{field}={getattr(host, field)}" for field in HOST_FIELDS if getattr(host, field)]
    return " ".join(parts)


def render_inventory(outputs: dict[str, Any]) -> str:
    """The INI inventory: groups ``app`` and ``monitoring`` first, then any other role."""
    parsed = InventoryOutputs.model_validate(outputs)
    roles = [r for r in GROUP_ORDER if r in parsed.hosts]
    roles += sorted(r for r in parsed.hosts if r not in GROUP_ORDER)
    lines: list[str] = []
    for role in roles:
        lines.append(f"[{role}]")
        lines += [_line(host) for host in parsed.hosts[role]]
    if parsed.domain:
        lines += ["[all:vars]", f"domain={parsed.domain}"]
    return "\n".join(lines) + "\n"
