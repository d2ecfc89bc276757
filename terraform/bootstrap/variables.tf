variable "project" {
  description = "Project name, the prefix of the bucket and the table."
  type        = string
  default     = "maestrops"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.project))
    error_message = "The project must be 2 to 21 lowercase letters, digits or dashes."
  }
}

variable "region" {
  description = "AWS region of the state bucket and the lock table."
  type        = string
  default     = "eu-west-1"
}

variable "state_bucket_name" {
  description = "Name of the state bucket; empty means `<project>-tfstate-<account id>`, which is globally unique."
  type        = string
  default     = ""

  validation {
    condition     = var.state_bucket_name == "" || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "The state_bucket_name must be a valid S3 bucket name."
  }
}

variable "noncurrent_version_days" {
  description = "Days to keep the previous versions of state files (to roll back a broken state)."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_days >= 7
    error_message = "Keep old state versions for at least 7 days."
  }
}
