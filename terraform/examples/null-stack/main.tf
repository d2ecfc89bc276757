# The local stand-in for ../../infra: the same outputs (`domain`, `hosts`, `inventory_ini`)
# for hosts that are this machine. One null_resource per host plays the instance, so that plan,
# apply, re-plan and destroy behave as they do on AWS: a changed trigger replaces a host.

locals {
  roles = {
    app        = { count = var.app_instance_count, dns_name = var.domain }
    monitoring = { count = 1, dns_name = "grafana.${var.domain}" }
  }

  host_list = flatten([
    for role, spec in local.roles : [
      for i in range(spec.count) : {
        role        = role
        name        = "${role}-${i + 1}"
        instance_id = "local-${role}-${i + 1}"
        public_ip   = var.host_address
        private_ip  = var.host_address
        dns_name    = spec.dns_name
      }
    ]
  ])
}

resource "null_resource" "host" {
  for_each = { for h in local.host_list : h.name => h }

  triggers = {
    role        = each.value.role
    instance_id = each.value.instance_id
    address     = each.value.public_ip
    dns_name    = each.value.dns_name
    environment = var.environment
    release     = var.release
  }
}
