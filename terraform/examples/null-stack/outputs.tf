# Same shape as ../../infra/outputs.tf: the runner and the inventory step cannot tell them apart.

locals {
  hosts = {
    for role in keys(local.roles) : role => [
      for h in local.host_list : {
        name        = h.name
        instance_id = null_resource.host[h.name].triggers.instance_id
        public_ip   = h.public_ip
        private_ip  = h.private_ip
        dns_name    = h.dns_name
      } if h.role == role
    ]
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
  description = "The Ansible inventory (inventory.ini) for these hosts, in the format of ../../infra."
  value = templatefile("${path.module}/templates/inventory.ini.tftpl", {
    hosts  = local.hosts
    domain = var.domain
  })
}
