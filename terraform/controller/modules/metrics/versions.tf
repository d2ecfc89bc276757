terraform {
  # No provider: this module only computes the alarm specifications and the dashboard body,
  # so the tests evaluate it with the bare Terraform binary.
  required_version = ">= 1.0.0"
}
