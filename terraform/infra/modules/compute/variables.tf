variable "name" {
  description = "Prefix for resource names (for example `maestrops-prod`)."
  type        = string
}

variable "role" {
  description = "Role of the hosts: `app` or `monitoring`. It becomes the `Role` tag that SSM targeting uses and the inventory group."
  type        = string

  validation {
    condition     = contains(["app", "monitoring"], var.role)
    error_message = "The role must be \"app\" or \"monitoring\"."
  }
}

variable "instance_count" {
  description = "Number of hosts of this role."
  type        = number
  default     = 1

  validation {
    condition     = var.instance_count >= 1 && var.instance_count <= 4 && floor(var.instance_count) == var.instance_count
    error_message = "The instance_count must be a whole number from 1 to 4."
  }
}

variable "instance_type" {
  description = "EC2 instance type of the hosts (for example `t3.small`)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.instance_type))
    error_message = "The instance_type must look like an EC2 instance type, for example t3.small."
  }
}

variable "ami_id" {
  description = "AMI of the hosts: Debian 12, which the Ansible roles target."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets to spread the hosts over, round-robin."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the hosts."
  type        = list(string)
}

variable "root_volume_size" {
  description = "Size of the encrypted gp3 root volume, in GiB."
  type        = number
  default     = 20

  validation {
    condition     = var.root_volume_size >= 8 && var.root_volume_size <= 500
    error_message = "The root_volume_size must be between 8 and 500 GiB."
  }
}

variable "transfer_bucket_arn" {
  description = "ARN of the bucket through which Ansible's SSM connection moves files (the controller's artifacts bucket). Empty: no access."
  type        = string
  default     = ""
}

variable "transfer_kms_key_arn" {
  description = "KMS key that encrypts the transfer bucket, if it is a customer managed key."
  type        = string
  default     = ""
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "detailed_monitoring" {
  description = "Enable CloudWatch detailed (1-minute) monitoring of the hosts. Prometheus already scrapes them every 15 s."
  type        = bool
  default     = false
}

variable "app_secret_arn" {
  description = "ARN of the application's secret (terraform/controller output application.secret_arn) that the deploy reads on these hosts. Empty: no deploy rights (monitoring hosts)."
  type        = string
  default     = ""
}

variable "app_secret_kms_key_arn" {
  description = "KMS key that encrypts the application's secret (the controller's key)."
  type        = string
  default     = ""
}

variable "app_image_repository_arns" {
  description = "ECR repositories of the application's images, which the deploy pulls."
  type        = list(string)
  default     = []
}

variable "app_registry_secret_arn" {
  description = "ARN of the registry secret the deploy logs in with when the images live outside ECR. Empty: ECR, with the hosts' identity."
  type        = string
  default     = ""
}
