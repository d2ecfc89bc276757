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

  # BatchGetItem reads the leases the lock listing names (GET /locks, the locks page, the
  # sweeper); a transaction needs no action of its own, only those of the items inside it.
  # The API writes too: a lock release puts the lease back, a retry puts a new run.
  statement {
    sid = "RunStore"
    actions = each.key == "api_handler" ? [
      "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan",
      "dynamodb:PutItem", "dynamodb:UpdateItem",
      ] : [
      "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
      "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem",
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

  # The run pages (served by the API function) sign users in and seal their cookies.
  dynamic "statement" {
    for_each = each.key == "api_handler" ? [1] : []

    content {
      sid       = "ReadPagesSecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [local.secret_arns["oauth-client-secret"], local.secret_arns["session-key"]]
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

  # GET /runs/{id}/logs and the run pages list which steps of a run have logs.
  dynamic "statement" {
    for_each = each.key == "api_handler" ? [1] : []

    content {
      sid       = "ListStepLogs"
      actions   = ["s3:ListBucket"]
      resources = [aws_s3_bucket.artifacts.arn]

      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["runs/*/logs/*"]
      }
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

  # Exactly the two runner identities, which the start call names per run.
  dynamic "statement" {
    for_each = contains(["dispatch_events", "on_runner_event", "api_handler", "sweep_locks"], each.key) ? [1] : []

    content {
      sid       = "PassTheRunnerIdentities"
      actions   = ["iam:PassRole"]
      resources = [aws_iam_role.runner_plan.arn, aws_iam_role.runner_apply.arn]

      condition {
        test     = "StringEquals"
        variable = "iam:PassedToService"
        values   = ["codebuild.amazonaws.com", "ecs-tasks.amazonaws.com"]
      }
    }
  }

  # RunTask passes the task definition's execution role (the ECS agent's) as well.
  dynamic "statement" {
    for_each = contains(["dispatch_events", "on_runner_event", "api_handler", "sweep_locks"], each.key) ? [1] : []

    content {
      sid       = "PassTheEcsAgentRole"
      actions   = ["iam:PassRole"]
      resources = [aws_iam_role.ecs_execution.arn]

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
#
# Two identities run the users' code (docs/security.md, "AWS identities of the runners"):
# - runner-plan runs whatever has not been merged: validate, plan, ci-application and any
#   run of a pull request. It reads the managed stack and its state, writes only run
#   artifacts and runner events, and reads no controller secret but the Infracost key.
# - runner-apply runs merged, reviewed code only (apply, ansible-monitoring, cd-application
#   after the merge): it writes the state and manages the stack.
# The controller names one per run in the start call (CodeBuild serviceRoleOverride, ECS
# taskRoleArn; chalicelib/pipelines/identity.py chooses). The project's and the task
# definition's own role is runner-plan, so a start call that names none gets the lesser one.

locals {
  state_region     = var.state_region != "" ? var.state_region : var.region
  state_bucket_arn = "arn:${local.partition}:s3:::${var.state_bucket}"
  # Every managed stack's state lives under stacks/ (chalicelib/pipelines/state.py); the
  # controller's own state, in the same bucket, stays out of the runners' reach.
  state_object_arns = "${local.state_bucket_arn}/stacks/*"
  lock_table_arn    = "arn:${local.partition}:dynamodb:${local.state_region}:${local.account_id}:table/${var.state_lock_table}"
}

# What both identities need to be a runner at all.
data "aws_iam_policy_document" "runner_common" {
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

  # IAM cannot narrow this to the run's own runs/<run_id>/ (CodeBuild and ECS give no per-run
  # session tag): docs/security.md says what a plan run could overwrite.
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
    sid       = "PullTheRunnerImage"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    resources = [aws_ecr_repository.runner.arn]
  }

  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # justified: GetAuthorizationToken has no resource-level permissions
  }

  # ci-application runs unmerged code with the plan identity: it may add images to the app
  # repositories, whose tags are immutable; hosts run only the digests a compose commit names.
  dynamic "statement" {
    for_each = length(aws_ecr_repository.app) > 0 ? [1] : []

    content {
      sid = "PushApplicationImages"
      actions = [
        "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
        "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage",
      ]
      resources = [for r in aws_ecr_repository.app : r.arn]
    }
  }
}

# The plan identity: reads, never writes the stack, the state or the lock table.
data "aws_iam_policy_document" "runner_plan" {
  # What refreshing terraform/infra reads: read-only calls by name (no Create/Put/Modify).
  # These Describe and List calls take no resource ARN.
  statement {
    sid = "DescribeTheManagedStack"
    actions = [
      "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAddressesAttribute",
      "ec2:DescribeAvailabilityZones", "ec2:DescribeFlowLogs", "ec2:DescribeImages",
      "ec2:DescribeInstanceCreditSpecifications",
      "ec2:DescribeInstanceTypes", "ec2:DescribeInstances", "ec2:DescribeInternetGateways",
      "ec2:DescribeNetworkAcls", "ec2:DescribeNetworkInterfaces", "ec2:DescribePrefixLists",
      "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups",
      "ec2:DescribeSubnets", "ec2:DescribeTags", "ec2:DescribeVolumes",
      "ec2:DescribeVpcs", "route53:ListHostedZones", "logs:DescribeLogGroups",
    ]
    resources = ["*"] # justified: Describe and List calls have no resource-level permissions
  }

  statement {
    sid = "ReadTheManagedStack"
    actions = [
      "route53:GetHostedZone", "route53:ListResourceRecordSets", "route53:ListTagsForResource",
      "route53:GetDNSSEC", "route53:GetChange",
      "iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
      "iam:GetInstanceProfile", "iam:GetPolicy", "iam:GetPolicyVersion",
      "logs:ListTagsLogGroup", "logs:ListTagsForResource",
      "ec2:DescribeInstanceAttribute", "ec2:DescribeVpcAttribute",
    ]
    resources = [
      "arn:${local.partition}:ec2:*:${local.account_id}:instance/*",
      "arn:${local.partition}:ec2:*:${local.account_id}:vpc/*",
      "arn:${local.partition}:route53:::hostedzone/*",
      "arn:${local.partition}:route53:::change/*",
      "arn:${local.partition}:iam::${local.account_id}:role/*",
      "arn:${local.partition}:iam::${local.account_id}:instance-profile/*",
      "arn:${local.partition}:iam::*:policy/*",
      "arn:${local.partition}:logs:*:${local.account_id}:log-group:*",
    ]
  }

  dynamic "statement" {
    for_each = var.state_bucket != "" ? [1] : []

    content {
      sid       = "ListTheStateBucket"
      actions   = ["s3:ListBucket"]
      resources = [local.state_bucket_arn]
    }
  }

  dynamic "statement" {
    for_each = var.state_bucket != "" ? [1] : []

    content {
      sid       = "ReadTheState"
      actions   = ["s3:GetObject"]
      resources = [local.state_object_arns]
    }
  }

  # The S3 backend checks the state's digest in the lock table when it reads; plans run with
  # -lock=false (chalicelib/pipelines/jobspec.py), so reading is all they need there.
  dynamic "statement" {
    for_each = var.state_lock_table != "" ? [1] : []

    content {
      sid       = "ReadTheStateDigest"
      actions   = ["dynamodb:GetItem"]
      resources = [local.lock_table_arn]
    }
  }

  # The cost step reads the key itself once Terraform has exited (runners/steps/cost.py).
  statement {
    sid       = "InfracostKey"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.secret_arns["infracost-api-key"]]
  }

  dynamic "statement" {
    for_each = var.plan_role_arn != "" ? [1] : []

    content {
      sid       = "AssumeTheManagedAccountPlanRole"
      actions   = ["sts:AssumeRole"]
      resources = [var.plan_role_arn]
    }
  }
}

# The apply identity: everything merged code needs to change the stack and its hosts.
data "aws_iam_policy_document" "runner" {
  statement {
    sid       = "RunnerSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.secret_arns["registry"], local.secret_arns["infracost-api-key"]]
  }

  dynamic "statement" {
    for_each = var.state_bucket != "" ? [1] : []

    content {
      sid       = "ListTheStateBucket"
      actions   = ["s3:ListBucket"]
      resources = [local.state_bucket_arn]
    }
  }

  dynamic "statement" {
    for_each = var.state_bucket != "" ? [1] : []

    content {
      sid       = "WriteTheState"
      actions   = ["s3:GetObject", "s3:PutObject"]
      resources = [local.state_object_arns]
    }
  }

  dynamic "statement" {
    for_each = var.state_lock_table != "" ? [1] : []

    content {
      sid       = "LockTheState"
      actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]
      resources = [local.lock_table_arn]
    }
  }

  # Managing terraform/infra in this account, unless a managed-account role is configured:
  # then the provider assumes that role and the identity holds only sts:AssumeRole on it.
  dynamic "statement" {
    for_each = var.apply_role_arn == "" ? [1] : []

    content {
      sid       = "ManageTheStackNetworkAndHosts"
      actions   = ["ec2:*", "route53:*"] # justified: the stack's VPC, hosts, addresses and DNS, whose ids exist only once created
      resources = ["*"]                  # justified: EC2 and Route53 resources get their ids at creation
    }
  }

  dynamic "statement" {
    for_each = var.apply_role_arn == "" ? [1] : []

    content {
      sid = "ManageTheStackLogs"
      actions = [
        "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy",
        "logs:TagResource", "logs:UntagResource", "logs:TagLogGroup", "logs:UntagLogGroup",
        "logs:ListTagsLogGroup", "logs:ListTagsForResource", "logs:DescribeLogGroups",
      ]
      resources = ["arn:${local.partition}:logs:*:${local.account_id}:log-group:/maestrops/*"]
    }
  }

  # The stack's own roles (hosts and flow logs): named <project>-<environment>-*-host and
  # *-vpc-flow-logs by terraform/infra, never the controller's.
  dynamic "statement" {
    for_each = var.apply_role_arn == "" ? [1] : []

    content {
      sid = "ManageTheStackRoles"
      actions = [
        "iam:CreateRole", "iam:DeleteRole", "iam:TagRole", "iam:UntagRole", "iam:UpdateAssumeRolePolicy",
        "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy",
        "iam:CreateInstanceProfile", "iam:DeleteInstanceProfile", "iam:TagInstanceProfile",
        "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:PassRole",
        "iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
        "iam:GetInstanceProfile", "iam:ListInstanceProfilesForRole",
      ]
      resources = [
        "arn:${local.partition}:iam::${local.account_id}:role/*-host",
        "arn:${local.partition}:iam::${local.account_id}:role/*-vpc-flow-logs",
        "arn:${local.partition}:iam::${local.account_id}:instance-profile/*-host",
      ]
    }
  }

  # cd-application: the deploy script to the running hosts tagged Role=app (found by tag,
  # then addressed by id), and each host's outcome. No ssm:ListCommands: it returns every
  # command's parameters, other runs' included.
  statement {
    sid       = "FindTheAppHosts"
    actions   = ["ec2:DescribeInstances"]
    resources = ["*"] # justified: DescribeInstances has no resource-level permissions
  }

  statement {
    sid       = "DeployToTheAppHosts"
    actions   = ["ssm:SendCommand"]
    resources = ["arn:${local.partition}:ec2:${var.region}:${local.account_id}:instance/*"]

    condition {
      test     = "StringEquals"
      variable = "ssm:resourceTag/Role"
      values   = ["app"]
    }
  }

  statement {
    sid       = "TheDeployScriptDocument"
    actions   = ["ssm:SendCommand"]
    resources = ["arn:${local.partition}:ssm:${var.region}::document/AWS-RunShellScript"]
  }

  statement {
    sid       = "DeployOutcome"
    actions   = ["ssm:GetCommandInvocation"]
    resources = ["*"] # justified: GetCommandInvocation takes a command id, not a resource
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

  # The users' infrastructure in other accounts lives behind roles the runner assumes.
  dynamic "statement" {
    for_each = length(compact(concat([var.apply_role_arn], var.managed_account_role_arns))) > 0 ? [1] : []

    content {
      sid       = "AssumeManagedAccountRoles"
      actions   = ["sts:AssumeRole"]
      resources = compact(concat([var.apply_role_arn], var.managed_account_role_arns))
    }
  }
}

locals {
  runner_trust_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = ["codebuild.amazonaws.com", "ecs-tasks.amazonaws.com"] }
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
  runner_policies = {
    plan  = data.aws_iam_policy_document.runner_plan.json
    apply = data.aws_iam_policy_document.runner.json
  }
}

resource "aws_iam_role" "runner_plan" {
  name               = "${local.name}-runner-plan"
  description        = "MaestrOps runner, plan identity: unmerged code; reads the stack and its state"
  assume_role_policy = local.runner_trust_policy
}

resource "aws_iam_role" "runner_apply" {
  name               = "${local.name}-runner-apply"
  description        = "MaestrOps runner, apply identity: merged, reviewed code; writes the state and the stack"
  assume_role_policy = local.runner_trust_policy
}

locals {
  runner_roles = {
    plan  = aws_iam_role.runner_plan
    apply = aws_iam_role.runner_apply
  }
}

resource "aws_iam_role_policy" "runner_common" {
  for_each = local.runner_roles

  name   = "runner"
  role   = each.value.id
  policy = data.aws_iam_policy_document.runner_common.json
}

resource "aws_iam_role_policy" "runner" {
  for_each = local.runner_roles

  name   = "least-privilege"
  role   = each.value.id
  policy = local.runner_policies[each.key]
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
