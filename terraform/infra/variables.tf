variable "project" {
  description = "Project name, the first part of every resource name."
  type        = string
  default     = "maestrops"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.project))
    error_message = "The project must be 2 to 21 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "environment" {
  description = "Environment name (for example `staging`, `prod`): part of resource names and the `Environment` tag."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.environment))
    error_message = "The environment must be 2 to 16 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "region" {
  description = "AWS region of the stack."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "The region must be an AWS region name such as eu-west-1."
  }
}

variable "availability_zones" {
  description = "The two availability zones of the public subnets; empty picks the region's first two."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || length(var.availability_zones) == 2
    error_message = "Give exactly two availability zones, or none."
  }
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC (/22 or larger)."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "The vpc_cidr must be a valid IPv4 CIDR block."
  }
}

variable "domain" {
  description = "The application's domain (for example `example.com`). Grafana is published as `grafana.<domain>`."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain))
    error_message = "The domain must be a lowercase DNS name such as example.com."
  }
}

variable "create_hosted_zone" {
  description = "Create the public Route53 hosted zone for the domain. When false, hosted_zone_id must name an existing zone."
  type        = bool
  default     = false
}

variable "hosted_zone_id" {
  description = "ID of the existing public hosted zone of the domain (used when create_hosted_zone is false)."
  type        = string
  default     = null

  validation {
    condition     = var.hosted_zone_id == null || can(regex("^Z[A-Z0-9]{1,32}$", var.hosted_zone_id))
    error_message = "The hosted_zone_id must look like Z0123456789ABCDEFGHIJ."
  }
}

variable "create_prometheus_record" {
  description = "Also publish `prometheus.<domain>` (Traefik serves it with authentication)."
  type        = bool
  default     = false
}

variable "app_instance_type" {
  description = "EC2 instance type of the application hosts."
  type        = string
  default     = "t3.small"

  validation {
    condition     = can(regex("^(t3|t3a|t4g|m6i|m6a|m7i|m7g|c6i|c7i|c7g|r6i)\\.(micro|small|medium|large|xlarge|2xlarge)$", var.app_instance_type))
    error_message = "The app_instance_type must be a current general purpose type up to 2xlarge, for example t3.small."
  }
}

variable "monitoring_instance_type" {
  description = "EC2 instance type of the monitoring host (Prometheus, Loki and Grafana want at least 2 GiB)."
  type        = string
  default     = "t3.small"

  validation {
    condition     = can(regex("^(t3|t3a|t4g|m6i|m6a|m7i|m7g|c6i|c7i|c7g|r6i)\\.(small|medium|large|xlarge|2xlarge)$", var.monitoring_instance_type))
    error_message = "The monitoring_instance_type must be a current general purpose type from small to 2xlarge (micro is too small for the stack)."
  }
}

variable "app_instance_count" {
  description = "Number of application hosts (the apex record lists all of them)."
  type        = number
  default     = 1

  validation {
    condition     = var.app_instance_count >= 1 && var.app_instance_count <= 4
    error_message = "The app_instance_count must be from 1 to 4."
  }
}

variable "app_root_volume_size" {
  description = "Root volume of the application hosts, in GiB (images and the database volume live there)."
  type        = number
  default     = 30
}

variable "monitoring_root_volume_size" {
  description = "Root volume of the monitoring host, in GiB (Prometheus and Loki data)."
  type        = number
  default     = 40
}

variable "ami_name_pattern" {
  description = "Name filter of the hosts' AMI. The default is Debian 12 (bookworm), which the Ansible roles target; user data adds the SSM agent and Docker."
  type        = string
  default     = "debian-12-amd64-*"
}

variable "ami_owners" {
  description = "Owners of the AMI (account IDs or aliases). 136693071363 publishes the official Debian images."
  type        = list(string)
  default     = ["136693071363"]
}

variable "ansible_transfer_bucket_arn" {
  description = "ARN of the bucket Ansible's SSM connection moves files through: the controller's artifacts bucket (same account). Empty: the hosts get no access."
  type        = string
  default     = ""

  validation {
    condition     = var.ansible_transfer_bucket_arn == "" || can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", var.ansible_transfer_bucket_arn))
    error_message = "The ansible_transfer_bucket_arn must be an S3 bucket ARN, or empty."
  }
}

variable "ansible_transfer_kms_key_arn" {
  description = "ARN of the KMS key of the transfer bucket (the controller's key), when it is a customer managed key."
  type        = string
  default     = ""
}

variable "app_secret_arn" {
  description = "ARN of the application's secret (terraform/controller output application.secret_arn): the app hosts read it into .env during a deploy. Empty: the hosts get no access."
  type        = string
  default     = ""

  validation {
    condition     = var.app_secret_arn == "" || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.app_secret_arn))
    error_message = "The app_secret_arn must be a Secrets Manager secret ARN, or empty."
  }
}

variable "app_registry_secret_arn" {
  description = "ARN of the registry secret (terraform/controller output application.registry_secret_arn) when the app images live outside ECR; the app hosts log in with it. Empty: ECR."
  type        = string
  default     = ""
}

variable "app_secret_kms_key_arn" {
  description = "ARN of the KMS key of the application's secret (terraform/controller output application.secret_kms_key_arn)."
  type        = string
  default     = ""
}

variable "app_image_repository_arns" {
  description = "ECR repositories the app hosts pull the application's images from (terraform/controller output application.image_repository_arns)."
  type        = list(string)
  default     = []
}

variable "grafana_allowed_cidrs" {
  description = "CIDR blocks that may reach Grafana on 443; empty means everyone (Grafana has its own login)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Extra tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "detailed_monitoring" {
  description = "Enable CloudWatch detailed monitoring of the hosts (Prometheus already scrapes them every 15 s)."
  type        = bool
  default     = false
}

variable "assume_role_arn" {
  description = "IAM role in the stack's account that the provider assumes (running by hand from another account). Empty: the caller's own credentials. Runners use aws_profile instead."
  type        = string
  default     = ""

  validation {
    condition     = var.assume_role_arn == "" || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.assume_role_arn))
    error_message = "The assume_role_arn must be an IAM role ARN, or empty."
  }
}

variable "aws_profile" {
  description = "Named profile of the provider (not of the state backend). The runners set it through TF_VAR_aws_profile when their identity assumes a managed-account role. Empty: the default credential chain."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{0,64}$", var.aws_profile))
    error_message = "The aws_profile must be a profile name of letters, digits, '_', '.' and '-'."
  }
}
