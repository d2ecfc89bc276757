variable "app_name" {
  description = "Chalice app name: the prefix of every resource and of the Lambda functions Chalice deploys (`<app_name>-<stage>-<function>`)."
  type        = string
  default     = "maestrops"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.app_name))
    error_message = "The app_name must be 2 to 21 lowercase letters, digits or dashes."
  }
}

variable "stage" {
  description = "Chalice stage (`dev` or `prod`)."
  type        = string
  default     = "prod"

  validation {
    condition     = contains(["dev", "prod"], var.stage)
    error_message = "The stage must be \"dev\" or \"prod\"."
  }
}

variable "region" {
  description = "AWS region of the controller."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "The region must be an AWS region name such as eu-west-1."
  }
}

variable "allowed_repos" {
  description = "Repositories (owner/name, globs allowed) whose webhooks the controller acts on. Empty ignores every repository."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for r in var.allowed_repos : can(regex("^[A-Za-z0-9*?_.-]+/[A-Za-z0-9*?_.-]+$", r))])
    error_message = "Each allowed repository must look like owner/name (globs * and ? allowed)."
  }
}

variable "github_app_id" {
  description = "ID of the GitHub App the controller acts as (docs/deploy.md creates it). Empty until the App exists."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^[0-9]*$", var.github_app_id))
    error_message = "The github_app_id must be the App's numeric id, or empty."
  }
}

variable "github_installation_id" {
  description = "ID of the App's installation on the organisation or account."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^[0-9]*$", var.github_installation_id))
    error_message = "The github_installation_id must be numeric, or empty."
  }
}

variable "github_api_url" {
  description = "GitHub REST API base: https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server."
  type        = string
  default     = "https://api.github.com"

  validation {
    condition     = can(regex("^https://", var.github_api_url))
    error_message = "The github_api_url must be an https URL."
  }
}

variable "github_status_mode" {
  description = "How the controller reports on commits: `status` (commit statuses) or `check-run`."
  type        = string
  default     = "status"

  validation {
    condition     = contains(["status", "check-run"], var.github_status_mode)
    error_message = "The github_status_mode must be status or check-run."
  }
}

variable "github_oauth_client_id" {
  description = "The GitHub App's Client ID, for the run pages' sign-in with GitHub (docs/pages.md). Empty: the pages offer no sign-in."
  type        = string
  default     = ""
}

variable "github_web_url" {
  description = "Where GitHub's OAuth web flow lives: https://github.com, or https://HOST for GitHub Enterprise Server."
  type        = string
  default     = "https://github.com"

  validation {
    condition     = can(regex("^https://", var.github_web_url))
    error_message = "The github_web_url must be an https URL."
  }
}

variable "public_url" {
  description = "Base URL of the deployed API (Chalice's EndpointURL), used for the run links in comments and statuses. Known after the first `chalice deploy`."
  type        = string
  default     = ""
}

variable "runner_backend" {
  description = "Default runner backend of the controller: `codebuild`, `ecs` or `ssm` (a pipeline may choose another in .gitops.yml)."
  type        = string
  default     = "codebuild"

  validation {
    condition     = contains(["codebuild", "ecs", "ssm"], var.runner_backend)
    error_message = "The runner_backend must be codebuild, ecs or ssm."
  }
}

variable "ssm_runner_instance_ids" {
  description = "EC2 instances (SSM managed) that run jobs when a pipeline's backend is `ssm`; empty: the ssm backend refuses to start jobs."
  type        = list(string)
  default     = []
}

variable "runner_image_tag" {
  description = "Tag of the runner image in the ECR repository that CodeBuild and ECS run. Tags are immutable: push a new tag per release."
  type        = string
  default     = "0.1.0"

  validation {
    condition     = var.runner_image_tag != "latest" && can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.runner_image_tag))
    error_message = "The runner_image_tag must be a valid, immutable image tag (not \"latest\")."
  }
}

variable "app_images" {
  description = "Names of the application's images (`.gitops.yml` application.images[].name): one ECR repository each under `<app_name>-<stage>/`."
  type        = list(string)
  default     = ["maestrops/backend", "maestrops/frontend"]

  validation {
    condition     = alltrue([for name in var.app_images : can(regex("^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$", name))])
    error_message = "Each app_images entry must be an image repository name such as maestrops/backend."
  }
}

variable "app_registry" {
  description = "Registry ci-application pushes to, as host[:port][/path], with credentials in the `registry` secret. Empty: this account's ECR (the app_images repositories), with the runner's own identity."
  type        = string
  default     = ""

  validation {
    condition     = var.app_registry == "" || can(regex("^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*$", var.app_registry))
    error_message = "The app_registry must be host[:port][/path] in lower case, or empty for ECR."
  }
}

variable "infracost_enabled" {
  description = "Give the runners INFRACOST_API_KEY from the `infracost-api-key` secret (put its value first). Without it the cost step uses the built-in estimator."
  type        = bool
  default     = false
}

variable "codebuild_compute_type" {
  description = "CodeBuild compute type of the runner."
  type        = string
  default     = "BUILD_GENERAL1_SMALL"

  validation {
    condition     = contains(["BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE"], var.codebuild_compute_type)
    error_message = "The codebuild_compute_type must be BUILD_GENERAL1_SMALL, _MEDIUM or _LARGE."
  }
}

variable "runner_timeout_minutes" {
  description = "Hard timeout of one runner build or task, in minutes (the reaper uses each run's own timeout)."
  type        = number
  default     = 60

  validation {
    condition     = var.runner_timeout_minutes >= 5 && var.runner_timeout_minutes <= 480
    error_message = "The runner_timeout_minutes must be between 5 and 480."
  }
}

variable "ecs_task_cpu" {
  description = "CPU units of the Fargate runner task."
  type        = number
  default     = 1024

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.ecs_task_cpu)
    error_message = "The ecs_task_cpu must be a Fargate size: 256, 512, 1024, 2048 or 4096."
  }
}

variable "ecs_task_memory" {
  description = "Memory of the Fargate runner task, in MiB."
  type        = number
  default     = 2048
}

variable "runner_vpc_id" {
  description = "VPC of the Fargate runner tasks. Empty: no runner security group, and the ECS backend is not configured (CodeBuild needs no VPC)."
  type        = string
  default     = ""
}

variable "runner_subnet_ids" {
  description = "Private subnets (with a route to the internet through NAT) for the Fargate runner tasks; the tasks get no public IP."
  type        = list(string)
  default     = []
}

variable "managed_account_role_arns" {
  description = "More IAM roles (in other accounts) that the apply identity may assume for merged runs. The plan identity never gets these: use plan_role_arn."
  type        = list(string)
  default     = []
}

variable "plan_role_arn" {
  description = "Read-only role in the managed account that the plan identity assumes (terraform/infra's assume_role_arn for plans). Empty: the plan identity reads this account directly."
  type        = string
  default     = ""

  validation {
    condition     = var.plan_role_arn == "" || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.plan_role_arn))
    error_message = "The plan_role_arn must be an IAM role ARN, or empty."
  }
}

variable "apply_role_arn" {
  description = "Role in the managed account that the apply identity assumes to change the stack. Empty: the apply identity manages terraform/infra in this account directly."
  type        = string
  default     = ""

  validation {
    condition     = var.apply_role_arn == "" || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.apply_role_arn))
    error_message = "The apply_role_arn must be an IAM role ARN, or empty."
  }
}

variable "state_bucket" {
  description = "State bucket of the managed stacks: terraform/bootstrap's `state_bucket` output. Runners get -backend-config for it; empty: none, and the runner identities get no state rights."
  type        = string
  default     = ""

  validation {
    condition     = var.state_bucket == "" || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket))
    error_message = "The state_bucket must be an S3 bucket name, or empty."
  }
}

variable "state_lock_table" {
  description = "Lock table of the managed stacks' state: terraform/bootstrap's `lock_table` output."
  type        = string
  default     = ""

  validation {
    condition     = var.state_lock_table == "" || can(regex("^[A-Za-z0-9_.-]{3,255}$", var.state_lock_table))
    error_message = "The state_lock_table must be a DynamoDB table name, or empty."
  }
}

variable "state_region" {
  description = "Region of the state bucket and lock table (terraform/bootstrap's `region` output); empty: the controller's region."
  type        = string
  default     = ""

  validation {
    condition     = var.state_region == "" || can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.state_region))
    error_message = "The state_region must be an AWS region name, or empty."
  }
}

variable "alarm_email" {
  description = "Email address subscribed to the alarm topic (confirm the subscription mail). Empty: no subscription."
  type        = string
  default     = ""

  validation {
    condition     = var.alarm_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "The alarm_email must be an email address, or empty."
  }
}

variable "wire_lambdas" {
  description = "Connect the deployed Chalice functions: the SQS event source of dispatch_events and the service state-change rules to on_runner_event. Set to true on the second apply, after `chalice deploy` (docs/deploy.md)."
  type        = bool
  default     = false
}

variable "artifact_retention_days" {
  description = "Days to keep run artifacts (plans, logs, cost files) before they expire."
  type        = number
  default     = 90

  validation {
    condition     = var.artifact_retention_days >= 7
    error_message = "Keep artifacts for at least 7 days (an apply reuses the plan of its PR)."
  }
}

variable "log_retention_days" {
  description = "Retention of the runner log groups, in days."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Extra tags added to every resource."
  type        = map(string)
  default     = {}
}
