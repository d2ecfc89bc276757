output "zone_id" {
  description = "ID of the hosted zone that holds the records."
  value       = local.zone_id
}

output "name_servers" {
  description = "Name servers of the created zone (empty when an existing zone is used): delegate the domain to them."
  value       = var.create_zone ? aws_route53_zone.this[0].name_servers : []
}

output "app_dns_name" {
  description = "DNS name of the application."
  value       = var.domain
}

output "grafana_dns_name" {
  description = "DNS name of Grafana."
  value       = "grafana.${var.domain}"
}

output "fqdns" {
  description = "Every DNS name this module published."
  value       = sort(keys(aws_route53_record.this))
}
