# The infrastructure the seed's pipelines manage: a network, an application host and a
# monitoring host, and DNS names for them. The runner reads the outputs (outputs.tf).

locals {
  name = "${var.project}-${var.environment}"

  tags = merge(var.tags, {
    Project     = var.project
    Environment = var.environment
    ManagedBy   = "maestrops"
  })

  availability_zones = length(var.availability_zones) == 2 ? var.availability_zones : slice(data.aws_availability_zones.available.names, 0, 2)
}

data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:Only used when var.availability_zones is empty; production stacks pin their two zones through that variable, and the subnets do not move once created.
  state = "available"

  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

data "aws_ami" "host" {
  most_recent = true
  owners      = var.ami_owners

  filter {
    name   = "name"
    values = [var.ami_name_pattern]
  }

  filter {
    name   = "architecture"
    values = ["x86_64"]
  }

  filter {
    name   = "virtualization-type"
    values = ["hvm"]
  }
}

module "network" {
  source = "./modules/network"

  name               = local.name
  vpc_cidr           = var.vpc_cidr
  availability_zones = local.availability_zones
  admin_cidrs        = var.grafana_allowed_cidrs
  tags               = local.tags
}

module "app" {
  source = "./modules/compute"

  name                      = local.name
  role                      = "app"
  instance_count            = var.app_instance_count
  instance_type             = var.app_instance_type
  ami_id                    = data.aws_ami.host.id
  subnet_ids                = module.network.public_subnet_ids
  security_group_ids        = [module.network.security_group_ids["app"]]
  root_volume_size          = var.app_root_volume_size
  transfer_bucket_arn       = var.ansible_transfer_bucket_arn
  transfer_kms_key_arn      = var.ansible_transfer_kms_key_arn
  app_secret_arn            = var.app_secret_arn
  app_registry_secret_arn   = var.app_registry_secret_arn
  app_secret_kms_key_arn    = var.app_secret_kms_key_arn
  app_image_repository_arns = var.app_image_repository_arns
  detailed_monitoring       = var.detailed_monitoring
  tags                      = local.tags
}

module "monitoring" {
  source = "./modules/compute"

  name                 = local.name
  role                 = "monitoring"
  instance_count       = 1
  instance_type        = var.monitoring_instance_type
  ami_id               = data.aws_ami.host.id
  subnet_ids           = module.network.public_subnet_ids
  security_group_ids   = [module.network.security_group_ids["monitoring"]]
  root_volume_size     = var.monitoring_root_volume_size
  transfer_bucket_arn  = var.ansible_transfer_bucket_arn
  transfer_kms_key_arn = var.ansible_transfer_kms_key_arn
  detailed_monitoring  = var.detailed_monitoring
  tags                 = local.tags
}

module "dns" {
  source = "./modules/dns"

  domain                   = var.domain
  create_zone              = var.create_hosted_zone
  zone_id                  = var.hosted_zone_id
  app_ips                  = module.app.public_ips
  monitoring_ips           = module.monitoring.public_ips
  create_prometheus_record = var.create_prometheus_record
  tags                     = local.tags
}
