# Endpoints and credentials come from the environment (AWS_PROFILE, AWS_REGION,
# AWS_ENDPOINT_URL), so the same configuration applies to AWS and to a local moto server.
provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}
