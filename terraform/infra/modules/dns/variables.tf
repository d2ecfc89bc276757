variable "domain" {
  description = "The application's domain (for example `example.com`); Grafana is `grafana.<domain>`."
  type        = string
}

variable "create_zone" {
  description = "Create a public hosted zone for the domain (true) or add records to the existing zone `zone_id` (false)."
  type        = bool
  default     = false
}

variable "zone_id" {
  description = "ID of an existing public hosted zone for the domain; required when create_zone is false."
  type        = string
  default     = null
}

variable "app_ips" {
  description = "Public IPs of the app hosts: the apex A record."
  type        = list(string)
}

variable "monitoring_ips" {
  description = "Public IPs of the monitoring hosts: the `grafana.` (and optional `prometheus.`) A records."
  type        = list(string)
}

variable "create_prometheus_record" {
  description = "Also publish `prometheus.<domain>` (served through Traefik with authentication)."
  type        = bool
  default     = false
}

variable "ttl" {
  description = "TTL of the A records, in seconds."
  type        = number
  default     = 300
}

variable "tags" {
  description = "Tags added to the hosted zone."
  type        = map(string)
  default     = {}
}
