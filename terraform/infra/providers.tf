# Endpoints and credentials come from the environment (AWS_PROFILE, AWS_REGION,
# AWS_ENDPOINT_URL), so the same configuration applies to AWS and to a local moto server.
#
# The stack may live in another account than the runners: `assume_role_arn` names a role
# there for a person running this by hand. A saved plan keeps variable values, so runners do
# not use it (a plan made as the plan role would be applied as that role): they set
# TF_VAR_aws_profile to a profile whose role_arn is their own identity's managed-account role,
# written afresh for every Terraform step (docs/runners.md, "AWS identities").
provider "aws" {
  region  = var.region
  profile = var.aws_profile != "" ? var.aws_profile : null

  dynamic "assume_role" {
    for_each = var.assume_role_arn != "" ? [var.assume_role_arn] : []

    content {
      role_arn     = assume_role.value
      session_name = "maestrops-${var.environment}"
    }
  }

  default_tags {
    tags = local.tags
  }
}
