# The runner: one image (ECR), run by CodeBuild (the default backend) or as a Fargate task.
# Both read the job from the MAESTRO_JOB variable that the controller overrides per run.

locals {
  runner_image = "${aws_ecr_repository.runner.repository_url}:${var.runner_image_tag}"
  ecs_enabled  = var.runner_vpc_id != "" && length(var.runner_subnet_ids) > 0

  # Names only, never a secret's value: the cost step reads the Infracost key itself once
  # Terraform has exited (runners/steps/cost.py), so no step before it ever holds it.
  runner_environment = merge(
    {
      MAESTRO_ARTIFACTS_BUCKET = aws_s3_bucket.artifacts.bucket
      MAESTRO_EVENT_BUS        = local.event_bus_name
      AWS_DEFAULT_REGION       = var.region
      # ci-application's registry and cd-application's secret (read on the hosts, not here).
      MAESTRO_REGISTRY   = local.app_registry
      MAESTRO_APP_SECRET = aws_secretsmanager_secret.this["app"].name
    },
    var.app_registry != "" ? { MAESTRO_REGISTRY_SECRET = aws_secretsmanager_secret.this["registry"].name } : {},
    var.infracost_enabled ? { MAESTRO_INFRACOST_SECRET = aws_secretsmanager_secret.this["infracost-api-key"].name } : {},
    # The managed-account role of each identity: the runner's Terraform provider assumes the
    # one of its run's identity (runners/steps/terraform.py), the state stays in this account.
    var.plan_role_arn != "" ? { MAESTRO_MANAGED_PLAN_ROLE_ARN = var.plan_role_arn } : {},
    var.apply_role_arn != "" ? { MAESTRO_MANAGED_APPLY_ROLE_ARN = var.apply_role_arn } : {},
  )
}

resource "aws_cloudwatch_log_group" "runner" {
  name              = "/maestrops/${local.name}/runner"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.controller.arn
}

resource "aws_codebuild_project" "runner" {
  name        = "${local.name}-runner"
  description = "MaestrOps runner: executes one job (JobSpec in MAESTRO_JOB)"
  # The plan identity; StartBuild names the apply identity for merged runs (serviceRoleOverride).
  service_role  = aws_iam_role.runner_plan.arn
  build_timeout = var.runner_timeout_minutes
  # Jobs are queued by the controller; a build that waits longer than this is reaped anyway.
  queued_timeout = 60
  encryption_key = aws_kms_key.controller.arn

  artifacts {
    type = "NO_ARTIFACTS" # the runner uploads its own artifacts under runs/<run_id>/
  }

  environment {
    compute_type                = var.codebuild_compute_type
    image                       = local.runner_image
    image_pull_credentials_type = "SERVICE_ROLE"
    type                        = "LINUX_CONTAINER"
    #checkov:skip=CKV_AWS_316:The ci-application pipeline builds the app's container images, which needs the Docker daemon that only privileged mode provides.
    privileged_mode = true

    dynamic "environment_variable" {
      for_each = local.runner_environment

      content {
        name  = environment_variable.key
        value = environment_variable.value
      }
    }
  }

  source {
    type = "NO_SOURCE" # the runner clones the repository at the job's sha itself
    buildspec = yamlencode({
      version = "0.2"
      phases = {
        build = { commands = ["python -m runners run --job env"] }
      }
    })
  }

  logs_config {
    cloudwatch_logs {
      group_name  = aws_cloudwatch_log_group.runner.name
      stream_name = "codebuild"
    }
  }
}

resource "aws_ecs_cluster" "runner" {
  name = "${local.name}-runners"

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "runner" {
  cluster_name       = aws_ecs_cluster.runner.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

resource "aws_ecs_task_definition" "runner" {
  family                   = "${local.name}-runner"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.ecs_task_cpu
  memory                   = var.ecs_task_memory
  execution_role_arn       = aws_iam_role.ecs_execution.arn
  # The plan identity; RunTask names the apply identity for merged runs (overrides.taskRoleArn).
  task_role_arn = aws_iam_role.runner_plan.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  #checkov:skip=CKV_AWS_336:Terraform, Ansible and the image builds write their working trees, plugin caches and HOME inside the container; the task is single-use and discarded after the run.
  container_definitions = jsonencode([{
    # The name is the one chalicelib/backends/ecs.py overrides per run.
    name                   = "runner"
    image                  = local.runner_image
    essential              = true
    command                = ["python", "-m", "runners", "run", "--job", "env"]
    readonlyRootFilesystem = false # Terraform and Ansible write their working trees
    environment            = [for k, v in local.runner_environment : { name = k, value = v }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.runner.name
        awslogs-region        = var.region
        awslogs-stream-prefix = "ecs"
      }
    }
  }])
}

resource "aws_security_group" "runner" {
  count = local.ecs_enabled ? 1 : 0

  #checkov:skip=CKV2_AWS_5:The group is attached at run time: the controller passes it to ecs:RunTask (MAESTRO_ECS_SECURITY_GROUPS).
  name        = "${local.name}-runner"
  description = "Fargate runner tasks: no inbound traffic, outbound HTTPS for GitHub, registries and AWS APIs"
  vpc_id      = var.runner_vpc_id

  egress {
    description = "HTTPS to GitHub, package registries and AWS APIs"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egress {
    description = "DNS lookups"
    from_port   = 53
    to_port     = 53
    protocol    = "udp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
