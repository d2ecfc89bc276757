# What `chalice package` needs: the environment of every function and the role of each one.
# docs/deploy.md writes `chalice_stage_config` into .chalice/config.json under the stage.

locals {
  lambda_environment = {
    MAESTRO_TABLE                     = aws_dynamodb_table.main.name
    MAESTRO_IDEMPOTENCY_TABLE         = aws_dynamodb_table.idempotency.name
    MAESTRO_QUEUE_URL                 = aws_sqs_queue.events.url
    MAESTRO_ARTIFACTS_BUCKET          = aws_s3_bucket.artifacts.bucket
    MAESTRO_WEBHOOK_SECRET_NAME       = aws_secretsmanager_secret.this["webhook-secret"].name
    MAESTRO_GITHUB_APP_ID             = var.github_app_id
    MAESTRO_GITHUB_INSTALLATION_ID    = var.github_installation_id
    MAESTRO_GITHUB_PRIVATE_KEY_SECRET = aws_secretsmanager_secret.this["github-app"].name
    MAESTRO_GITHUB_API_URL            = var.github_api_url
    MAESTRO_GITHUB_STATUS_MODE        = var.github_status_mode
    MAESTRO_PUBLIC_URL                = var.public_url
    MAESTRO_GITHUB_WEB_URL            = var.github_web_url
    MAESTRO_OAUTH_CLIENT_ID           = var.github_oauth_client_id
    MAESTRO_OAUTH_CLIENT_SECRET_NAME  = aws_secretsmanager_secret.this["oauth-client-secret"].name
    MAESTRO_SESSION_KEY_SECRET_NAME   = aws_secretsmanager_secret.this["session-key"].name
    MAESTRO_API_AUTH                  = "iam" # API Gateway checks SigV4 on the runs API
    MAESTRO_ALLOWED_REPOS             = join(",", var.allowed_repos)
    MAESTRO_EVENT_BUS                 = local.event_bus_name
    MAESTRO_RUNNER_BACKEND            = var.runner_backend
    MAESTRO_CODEBUILD_PROJECT         = aws_codebuild_project.runner.name
    MAESTRO_ECS_CLUSTER               = aws_ecs_cluster.runner.name
    MAESTRO_ECS_TASK_DEFINITION       = aws_ecs_task_definition.runner.family
    MAESTRO_ECS_SUBNETS               = join(",", var.runner_subnet_ids)
    MAESTRO_ECS_SECURITY_GROUPS       = join(",", aws_security_group.runner[*].id)
    MAESTRO_SSM_INSTANCE_IDS          = join(",", var.ssm_runner_instance_ids)
    MAESTRO_RUNNER_PLAN_ROLE_ARN      = aws_iam_role.runner_plan.arn
    MAESTRO_RUNNER_APPLY_ROLE_ARN     = aws_iam_role.runner_apply.arn
    MAESTRO_STATE_BUCKET              = var.state_bucket
    MAESTRO_STATE_LOCK_TABLE          = var.state_lock_table
    MAESTRO_STATE_REGION              = local.state_region
    POWERTOOLS_SERVICE_NAME           = var.app_name
    POWERTOOLS_METRICS_NAMESPACE      = module.metrics.namespace
  }
}

output "lambda_environment" {
  description = "Environment variables of every controller function."
  value       = local.lambda_environment
}

output "lambda_role_arns" {
  description = "IAM role of each function (Chalice function name => role ARN)."
  value       = { for k, r in aws_iam_role.lambda : k => r.arn }
}

output "chalice_stage_config" {
  description = "Merged into the stage of .chalice/config.json (docs/deploy.md): the environment and one Terraform-made role per function; timeouts and memory stay in config.json, and the runtime is the packaging Python's."
  value = {
    api_gateway_stage     = "api"
    manage_iam_role       = false
    iam_role_arn          = aws_iam_role.lambda["api_handler"].arn
    environment_variables = local.lambda_environment
    lambda_functions      = { for k, r in aws_iam_role.lambda : k => { iam_role_arn = r.arn } }
  }
}

output "ansible_transfer" {
  description = "Inputs of terraform/infra (ansible_transfer_bucket_arn, ansible_transfer_kms_key_arn): the bucket Ansible's SSM connection moves files through."
  value = {
    bucket_arn  = aws_s3_bucket.artifacts.arn
    kms_key_arn = aws_kms_key.controller.arn
  }
}

output "runner_image_repository" {
  description = "ECR repository of the runner image: docker push <url>:<runner_image_tag>."
  value       = aws_ecr_repository.runner.repository_url
}

output "secret_names" {
  description = "Secrets to fill by hand after the first apply (aws secretsmanager put-secret-value)."
  value       = { for k, s in aws_secretsmanager_secret.this : k => s.name }
}

output "alarm_topic_arn" {
  description = "SNS topic of every alarm."
  value       = aws_sns_topic.alarms.arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard of runs per pipeline, failures and durations."
  value       = aws_cloudwatch_dashboard.controller.dashboard_name
}

output "lambda_function_names" {
  description = "Names Chalice gives the functions; the alarms and the event wiring use them."
  value       = local.lambda_names
}

output "runner_role_arns" {
  description = "The runners' two identities (docs/security.md): `plan` for unmerged code, `apply` for merged, reviewed runs."
  value       = { for k, r in local.runner_roles : k => r.arn }
}

output "application" {
  description = "Inputs of terraform/infra for the app hosts (app_secret_arn, app_registry_secret_arn, app_secret_kms_key_arn, app_image_repository_arns), and the registry ci-application pushes to."
  value = {
    registry              = local.app_registry
    secret_arn            = aws_secretsmanager_secret.this["app"].arn
    registry_secret_arn   = var.app_registry != "" ? aws_secretsmanager_secret.this["registry"].arn : ""
    secret_kms_key_arn    = aws_kms_key.controller.arn
    image_repository_arns = [for r in aws_ecr_repository.app : r.arn]
  }
}
