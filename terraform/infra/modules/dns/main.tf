# A records for the custom domains, pointing at the hosts' Elastic IPs.

resource "aws_route53_zone" "this" {
  count = var.create_zone ? 1 : 0

  #checkov:skip=CKV2_AWS_38:DNSSEC signing needs a KMS key in us-east-1 and a DS record at the registrar; enable it per domain once the registrar supports it.
  #checkov:skip=CKV2_AWS_39:Query logging is only possible to us-east-1 log groups; the records here are public and the VPC flow logs cover the hosts.
  name    = var.domain
  comment = "MaestrOps managed stack for ${var.domain}"

  tags = var.tags
}

locals {
  zone_id = var.create_zone ? aws_route53_zone.this[0].zone_id : var.zone_id

  records = merge(
    { (var.domain) = var.app_ips, "grafana.${var.domain}" = var.monitoring_ips },
    var.create_prometheus_record ? { "prometheus.${var.domain}" = var.monitoring_ips } : {},
  )
}

resource "aws_route53_record" "this" {
  for_each = local.records

  #checkov:skip=CKV2_AWS_23:The records point at Elastic IPs that the compute module attaches to the instances; the link crosses a module boundary, which the check cannot follow.
  zone_id = local.zone_id
  name    = each.key
  type    = "A"
  ttl     = var.ttl
  records = each.value
}
