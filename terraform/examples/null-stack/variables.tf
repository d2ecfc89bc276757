variable "environment" {
  description = "Environment name, recorded in each host's triggers."
  type        = string
  default     = "local"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.environment))
    error_message = "The environment must be 2 to 16 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "domain" {
  description = "The application's domain. `localhost` (and `grafana.localhost`) resolve to the loopback address."
  type        = string
  default     = "localhost"

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.domain))
    error_message = "The domain must be a lowercase DNS name such as localhost or example.com."
  }
}

variable "app_instance_count" {
  description = "Number of (pretend) application hosts."
  type        = number
  default     = 1

  validation {
    condition     = var.app_instance_count >= 1 && var.app_instance_count <= 4
    error_message = "The app_instance_count must be from 1 to 4."
  }
}

variable "host_address" {
  description = "Address every pretend host stands for (public and private)."
  type        = string
  default     = "127.0.0.1"

  validation {
    condition     = can(regex("^127\\.", var.host_address)) || var.host_address == "::1"
    error_message = "The host_address must be a loopback address: this stack stands for hosts on this machine."
  }
}

variable "release" {
  description = "Free-form version of the desired state; changing it replaces the hosts, like a new AMI would."
  type        = string
  default     = "1"
}
