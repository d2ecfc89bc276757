terraform {
  required_version = ">= 1.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0.0, < 6.0.0"
    }
  }

  # The state of the state store stays local on purpose: this configuration runs once per
  # account, and its terraform.tfstate is kept next to it or in a password manager.
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project   = var.project
      ManagedBy = "maestrops-bootstrap"
    }
  }
}
