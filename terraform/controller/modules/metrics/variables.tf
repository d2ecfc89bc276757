variable "service" {
  description = "Value of the `service` dimension the controller puts on every metric (POWERTOOLS_SERVICE_NAME)."
  type        = string
  default     = "maestrops"
}

variable "pipelines" {
  description = "Pipelines shown on the dashboard, one line each."
  type        = list(string)
  default = [
    "terraform-validate",
    "terraform-plan",
    "terraform-apply",
    "ansible-monitoring",
    "ci-application",
    "cd-application",
  ]
}

variable "region" {
  description = "Region of the dashboard's widgets."
  type        = string
  default     = "eu-west-1"
}

variable "dashboard_extra_widgets" {
  description = "Widgets (CloudWatch dashboard JSON objects) appended after the run widgets, for example the Lambda and queue graphs."
  type        = any
  default     = []
}
