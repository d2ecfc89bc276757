variable "name" {
  description = "Prefix for every resource name and the Name tag (for example `maestrops-prod`)."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC. The public subnets are carved out of it (/24 each)."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 22
    error_message = "The vpc_cidr must be a valid IPv4 CIDR block of size /22 or larger."
  }
}

variable "availability_zones" {
  description = "Exactly two availability zones for the public subnets."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) == 2
    error_message = "Give exactly two availability zones."
  }
}

variable "admin_cidrs" {
  description = "Extra CIDR blocks allowed to reach Grafana on 443 besides everyone (empty: Grafana is public behind Traefik and its own login)."
  type        = list(string)
  default     = []
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow logs in CloudWatch Logs, in days."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
