# The runner image (runners/ with Terraform, Infracost, Ansible and the compose tools) that
# CodeBuild and ECS run.

resource "aws_ecr_repository" "runner" {
  name                 = "${local.name}-runner"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.controller.arn
  }
}

resource "aws_ecr_lifecycle_policy" "runner" {
  repository = aws_ecr_repository.runner.name

  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the 20 newest runner images"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = 20
      }
      action = { type = "expire" }
    }]
  })
}

# The application's images, which ci-application pushes (runners/registry.py) and the app
# hosts pull: <registry>/<name> where the registry is the account's ECR under local.name.
# Tags are immutable, and the compose commit names each image by digest as well.
resource "aws_ecr_repository" "app" {
  for_each = toset(var.app_images)

  name                 = "${local.name}/${each.value}"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.controller.arn
  }
}

resource "aws_ecr_lifecycle_policy" "app" {
  for_each = aws_ecr_repository.app

  repository = each.value.name

  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the 50 newest application images"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = 50
      }
      action = { type = "expire" }
    }]
  })
}

locals {
  # Where ci-application pushes: the operator's registry, else this account's ECR.
  app_registry = var.app_registry != "" ? var.app_registry : "${local.account_id}.dkr.ecr.${var.region}.amazonaws.com/${local.name}"
}
