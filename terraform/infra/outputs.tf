# The runner reads `domain`, `hosts` and `inventory_ini` (`terraform output -json`) to build the
# Ansible inventory and to target SSM commands. Keep their shape: the null-provider example
# (../examples/null-stack) and the runner's tests rely on it.

locals {
  dns_name_by_role = {
    app        = module.dns.app_dns_name
    monitoring = module.dns.grafana_dns_name
  }

  hosts = {
    for role, role_hosts in { app = module.app.hosts, monitoring = module.monitoring.hosts } :
    role => [for h in role_hosts : merge(h, { dns_name = local.dns_name_by_role[role] })]
  }
}

output "domain" {
  description = "The application's domain."
  value       = var.domain
}

output "hosts" {
  description = "Hosts per role (`app`, `monitoring`): name, instance_id, public_ip, private_ip, dns_name."
  value       = local.hosts
}

output "inventory_ini" {
  description = "The Ansible inventory (inventory.ini) for these hosts; ansible_host is the instance id because Ansible connects through SSM."
  value = templatefile("${path.module}/templates/inventory.ini.tftpl", {
    hosts  = local.hosts
    domain = var.domain
  })
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = module.network.vpc_id
}

output "name_servers" {
  description = "Name servers to delegate the domain to, when the hosted zone was created here."
  value       = module.dns.name_servers
}

output "dns_names" {
  description = "Every DNS name published by the stack."
  value       = module.dns.fqdns
}
