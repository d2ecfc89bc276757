# Least privilege, one role per Lambda function and per runner. Each statement names the
# resources it touches; the few "*" resources are APIs that AWS does not scope by resource
# (each one says so).

locals {
  table_arns = [
    aws_dynamodb_table.main.arn,
    "${aws_dynamodb_table.main.arn}/index/*",
  ]
  secret_arns = { for k, s in aws_secretsmanager_secret.this : k => s.arn }

  lambda_assume_policy = data.aws_iam_policy_document.assume["lambda.amazonaws.com"].json

  codebuild_arn = aws_codebuild_project.runner.arn
  # RunTask is authorised on the task definition family, any revision.
  task_definition_family_arn = "arn:${local.partition}:ecs:${var.region}:${local.account_id}:task-definition/${aws_ecs_task_definition.runner.family}:*"
  ecs_task_arns              = "arn:${local.partition}:ecs:${var.region}:${local.account_id}:task/${aws_ecs_cluster.runner.name}/*"
}

data "aws_iam_policy_document" "assume" {
  for_each = toset(["lambda.amazonaws.com", "codebuild.amazonaws.com", "ecs-tasks.amazonaws.com"])

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = [each.value]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# ---- Lambda functions --------------------------------------------------------------------

data "aws_iam_policy_document" "lambda" {
  for_each = local.lambda_names

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/lambda/${each.value}:*"]
  }

  statement {
    sid       = "UseTheControllerKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.controller.arn]
  }

  statement {
    sid = "RunStore"
    actions = each.key == "api_handler" ? [
      "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem",
      ] : [
      "dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem",
      "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem",
    ]
    resources = local.table_arns
  }

  dynamic "statement" {
    for_each = each.key == "api_handler" ? [1] : []

    content {
      sid       = "WebhookDeliveriesAndQueue"
      actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "sqs:SendMessage"]
      resources = [aws_dynamodb_table.idempotency.arn, aws_sqs_queue.events.arn]
    }
  }

  dynamic "statement" {
    for_each = each.key == "dispatch_events" ? [1] : []

    content {
      sid       = "ConsumeTheQueue"
      actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
      resources = [aws_sqs_queue.events.arn]
    }
  }

  dynamic "statement" {
    for_each = contains(["api_handler", "dispatch_events", "on_runner_event", "sweep_locks", "flush_feedback", "reap_stuck_runs"], each.key) ? [1] : []

    content {
      sid       = "ReadGitHubSecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [local.secret_arns["webhook-secret"], local.secret_arns["github-app"]]
    }
  }

  dynamic "statement" {
    for_each = contains(["api_handler", "dispatch_events", "on_runner_event"], each.key) ? [1] : []

    content {
      sid       = "RunArtifacts"
      actions   = ["s3:GetObject", "s3:PutObject"]
      resources = ["${aws_s3_bucket.artifacts.arn}/runs/*"]
    }
  }

  # Comment bodies the GitHub write budget holds back until GitHub's limits allow them.
  dynamic "statement" {
    for_each = contains(["api_handler", "dispatch_events", "on_runner_event", "sweep_locks", "flush_feedback", "reap_stuck_runs"], each.key) ? [1] : []

    content {
      sid       = "PendingFeedback"
      actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
      resources = ["${aws_s3_bucket.artifacts.arn}/feedback/*"]
    }
  }

  # Starting runners: the dispatcher, on_runner_event when it chains the next pipeline, the
  # API and the lock sweep when a released lock lets the next waiting plan go.
  dynamic "statement" {
    for_each = contains(["dispatch_events", "on_runner_event", "api_handler", "sweep_locks"], each.key) ? [1] : []

    content {
      sid       = "StartRunners"
      actions   = ["codebuild:StartBuild", "ecs:RunTask"]
      resources = [local.codebuild_arn, local.task_definition_family_arn]
    }
  }

  dynamic "statement" {
    for_each = contains(["dispatch_events", "on_runner_event", "api_handler", "sweep_locks"], each.key) ? [1] : []

    content {
      sid       = "PassTheRunnerRoles"
      actions   = ["iam:PassRole"]
      resources = [aws_iam_role.runner.arn, aws_iam_role.ecs_execution.arn]

      condition {
        test     = "StringEquals"
        variable = "iam:PassedToService"
        values   = ["ecs-tasks.amazonaws.com"]
      }
    }
  }

  # Watching and stopping runners: status on events, cancel from the API, the reaper.
  dynamic "statement" {
    for_each = contains(["on_runner_event", "reap_stuck_runs", "api_handler"], each.key) ? [1] : []

    content {
      sid       = "WatchAndStopRunners"
      actions   = ["codebuild:BatchGetBuilds", "codebuild:StopBuild", "ecs:DescribeTasks", "ecs:StopTask"]
      resources = [local.codebuild_arn, local.ecs_task_arns]
    }
  }

  dynamic "statement" {
    for_each = contains(["dispatch_events", "on_runner_event", "api_handler"], each.key) ? [1] : []

    content {
      sid     = "SsmSendRunnerCommands"
      actions = ["ssm:SendCommand"]
      resources = [
        "arn:${local.partition}:ec2:${var.region}:${local.account_id}:instance/*",
        "arn:${local.partition}:ssm:${var.region}::document/AWS-RunShellScript",
        "arn:${local.partition}:ssm:${var.region}::document/AWS-ApplyAnsiblePlaybooks",
      ]
    }
  }

  dynamic "statement" {
    for_each = contains(["dispatch_events", "on_runner_event", "reap_stuck_runs", "api_handler"], each.key) ? [1] : []

    content {
      sid     = "SsmCommandStatus"
      actions = ["ssm:GetCommandInvocation", "ssm:ListCommandInvocations", "ssm:CancelCommand"]
      # These SSM APIs take a command id, not a resource: IAM cannot scope them.
      resources = ["*"] # justified: these SSM APIs have no resource-level permissions
    }
  }

  dynamic "statement" {
    for_each = contains(["dispatch_events", "on_runner_event", "reap_stuck_runs", "sweep_locks", "flush_feedback", "api_handler"], each.key) ? [1] : []

    content {
      sid       = "EmitMetrics"
      actions   = ["cloudwatch:PutMetricData"]
      resources = ["*"] # justified: PutMetricData has no resource-level permissions; scoped by namespace
      condition {
        test     = "StringEquals"
        variable = "cloudwatch:namespace"
        values   = [module.metrics.namespace]
      }
    }
  }
}

resource "aws_iam_role" "lambda" {
  for_each = local.lambda_names

  name               = "${local.name}-${replace(each.key, "_", "-")}"
  description        = "Lambda ${each.value}"
  assume_role_policy = local.lambda_assume_policy
}

resource "aws_iam_role_policy" "lambda" {
  for_each = local.lambda_names

  name   = "least-privilege"
  role   = aws_iam_role.lambda[each.key].id
  policy = data.aws_iam_policy_document.lambda[each.key].json
}

# ---- Runners -----------------------------------------------------------------------------

data "aws_iam_policy_document" "runner" {
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.runner.arn}:*"]
  }

  statement {
    sid       = "UseTheControllerKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.controller.arn]
  }

  statement {
    sid       = "RunArtifacts"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${aws_s3_bucket.artifacts.arn}/runs/*"]
  }

  statement {
    sid       = "ReportToTheController"
    actions   = ["events:PutEvents"]
    resources = ["arn:${local.partition}:events:${var.region}:${local.account_id}:event-bus/${local.event_bus_name}"]
  }

  statement {
    sid       = "RunnerSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.secret_arns["registry"], local.secret_arns["infracost-api-key"]]
  }

  statement {
    sid       = "PullTheRunnerImage"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    resources = [aws_ecr_repository.runner.arn]
  }

  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # justified: GetAuthorizationToken has no resource-level permissions
  }

  # Ansible's amazon.aws.aws_ssm connection: a session per host, files through the bucket
  # under <instance id>/, and the playbooks' SecureString parameters under /maestrops.
  statement {
    sid     = "AnsibleSessions"
    actions = ["ssm:StartSession"]
    resources = [
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:instance/*",
      "arn:${local.partition}:ssm:${var.region}::document/SSM-SessionManagerRunShell",
    ]
  }

  statement {
    sid       = "AnsibleOwnSessions"
    actions   = ["ssm:TerminateSession", "ssm:ResumeSession"]
    resources = ["arn:${local.partition}:ssm:${var.region}:${local.account_id}:session/*"]
  }

  statement {
    sid       = "AnsibleFileTransfer"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.artifacts.arn}/i-*"]
  }

  statement {
    sid       = "PlaybookParameters"
    actions   = ["ssm:GetParameter", "ssm:GetParameters"]
    resources = ["arn:${local.partition}:ssm:${var.region}:${local.account_id}:parameter/maestrops/*"]
  }

  statement {
    sid     = "DecryptPlaybookParameters"
    actions = ["kms:Decrypt"]
    # SecureString parameters use the account's aws/ssm key, whose ARN is not known here; the
    # condition limits the grant to decryption requested by SSM.
    resources = ["*"] # justified: the aws/ssm key, and only through SSM (condition)

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["ssm.${var.region}.amazonaws.com"]
    }
  }

  # The users' infrastructure lives behind roles the runner assumes; nothing else is granted.
  dynamic "statement" {
    for_each = length(var.managed_account_role_arns) > 0 ? [1] : []

    content {
      sid       = "AssumeManagedAccountRoles"
      actions   = ["sts:AssumeRole"]
      resources = var.managed_account_role_arns
    }
  }
}

resource "aws_iam_role" "runner" {
  name        = "${local.name}-runner"
  description = "MaestrOps runner (CodeBuild project and Fargate task)"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = ["codebuild.amazonaws.com", "ecs-tasks.amazonaws.com"] }
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "runner" {
  name   = "least-privilege"
  role   = aws_iam_role.runner.id
  policy = data.aws_iam_policy_document.runner.json
}

data "aws_iam_policy_document" "ecs_execution" {
  statement {
    sid       = "PullTheRunnerImage"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    resources = [aws_ecr_repository.runner.arn]
  }

  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # justified: GetAuthorizationToken has no resource-level permissions
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.runner.arn}:*"]
  }

  statement {
    sid       = "UseTheControllerKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.controller.arn]
  }

  # The agent injects INFRACOST_API_KEY into the container (task definition `secrets`).
  statement {
    sid       = "InjectRunnerSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.secret_arns["infracost-api-key"]]
  }
}

resource "aws_iam_role" "ecs_execution" {
  name               = "${local.name}-ecs-execution"
  description        = "ECS agent: pulls the runner image and ships its logs"
  assume_role_policy = data.aws_iam_policy_document.assume["ecs-tasks.amazonaws.com"].json
}

resource "aws_iam_role_policy" "ecs_execution" {
  name   = "least-privilege"
  role   = aws_iam_role.ecs_execution.id
  policy = data.aws_iam_policy_document.ecs_execution.json
}
