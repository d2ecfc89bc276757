# The hosts of one role (Debian 12, the target of the Ansible roles). Each gets an Elastic IP (its DNS name survives a stop), an encrypted
# gp3 root volume, IMDSv2 only, and an instance profile that lets SSM run Ansible and deploys
# on it: there is no SSH key and no SSH port.

locals {
  role_tags = merge(var.tags, { Role = var.role })
}

data "aws_iam_policy_document" "assume_ec2" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name}-${var.role}-host"
  description        = "Hosts of role ${var.role}: managed through SSM"
  assume_role_policy = data.aws_iam_policy_document.assume_ec2.json

  tags = local.role_tags
}

resource "aws_iam_role_policy_attachment" "ssm" {
  role       = aws_iam_role.this.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

# Ansible's amazon.aws.aws_ssm connection copies files through a bucket: the runner puts them
# under <instance id>/, the host fetches them (and removes nothing else).
data "aws_iam_policy_document" "transfer" {
  count = var.transfer_bucket_arn != "" ? 1 : 0

  statement {
    sid       = "AnsibleFileTransfer"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${var.transfer_bucket_arn}/i-*"]
  }

  dynamic "statement" {
    for_each = var.transfer_kms_key_arn != "" ? [1] : []

    content {
      sid       = "DecryptTransferredFiles"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [var.transfer_kms_key_arn]
    }
  }
}

resource "aws_iam_role_policy" "transfer" {
  count = var.transfer_bucket_arn != "" ? 1 : 0

  name   = "ansible-file-transfer"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.transfer[0].json
}

# App hosts: the deploy (runners/scripts/compose-deploy.sh) reads the application's secret
# into .env (and a non-ECR registry's login), pulls the app images from ECR, and SSM writes
# its output under runs/*/ssm/.
data "aws_iam_policy_document" "deploy" {
  count = var.app_secret_arn != "" ? 1 : 0

  statement {
    sid       = "ReadTheAppSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = compact([var.app_secret_arn, var.app_registry_secret_arn])
  }

  dynamic "statement" {
    for_each = var.app_secret_kms_key_arn != "" ? [1] : []

    content {
      sid       = "DecryptTheAppSecret"
      actions   = ["kms:Decrypt"]
      resources = [var.app_secret_kms_key_arn]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${data.aws_region.current.name}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.app_image_repository_arns) > 0 ? [1] : []

    content {
      sid       = "PullTheAppImages"
      actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
      resources = var.app_image_repository_arns
    }
  }

  dynamic "statement" {
    for_each = length(var.app_image_repository_arns) > 0 ? [1] : []

    content {
      sid       = "EcrLogin"
      actions   = ["ecr:GetAuthorizationToken"]
      resources = ["*"] # justified: GetAuthorizationToken has no resource-level permissions
    }
  }

  dynamic "statement" {
    for_each = var.transfer_bucket_arn != "" ? [1] : []

    content {
      sid       = "DeployOutput"
      actions   = ["s3:PutObject"]
      resources = ["${var.transfer_bucket_arn}/runs/*/ssm/*"]
    }
  }
}

resource "aws_iam_role_policy" "deploy" {
  count = var.app_secret_arn != "" ? 1 : 0

  name   = "app-deploy"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.deploy[0].json
}

data "aws_region" "current" {}

resource "aws_iam_instance_profile" "this" {
  name = "${var.name}-${var.role}-host"
  role = aws_iam_role.this.name

  tags = local.role_tags
}

resource "aws_instance" "this" {
  count = var.instance_count

  #checkov:skip=CKV_AWS_88:The hosts serve the public app and Grafana; their public address is an Elastic IP, and the security groups open only 80/443.
  ami                    = var.ami_id
  instance_type          = var.instance_type
  subnet_id              = var.subnet_ids[count.index % length(var.subnet_ids)]
  vpc_security_group_ids = var.security_group_ids
  iam_instance_profile   = aws_iam_instance_profile.this.name
  # Prometheus scrapes node-exporter and cAdvisor every 15 s, finer than CloudWatch's
  # detailed monitoring, which stays available as an option.
  #checkov:skip=CKV_AWS_126:Host metrics come from node-exporter at 15 s; CloudWatch detailed monitoring is var.detailed_monitoring.
  monitoring    = var.detailed_monitoring
  ebs_optimized = true

  user_data = templatefile("${path.module}/templates/user_data.sh.tftpl", {
    role = var.role
  })
  # A changed script applies to hosts created later; existing hosts are converged by Ansible.
  user_data_replace_on_change = false

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 2 # containers on the host reach IMDSv2 through the docker bridge
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = var.root_volume_size
    encrypted             = true
    delete_on_termination = true
  }

  tags        = merge(local.role_tags, { Name = "${var.name}-${var.role}-${count.index + 1}" })
  volume_tags = merge(local.role_tags, { Name = "${var.name}-${var.role}-${count.index + 1}" })

  lifecycle {
    # A newer AMI must not replace a running host on the next plan; roll hosts deliberately.
    ignore_changes = [ami]
  }
}

resource "aws_eip" "this" {
  count = var.instance_count

  domain   = "vpc"
  instance = aws_instance.this[count.index].id

  tags = merge(local.role_tags, { Name = "${var.name}-${var.role}-${count.index + 1}" })
}
