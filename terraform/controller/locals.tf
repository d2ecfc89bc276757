data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  name       = "${var.app_name}-${var.stage}"
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  tags = merge(var.tags, {
    Project   = var.app_name
    Stage     = var.stage
    ManagedBy = "maestrops-controller"
  })

  # Chalice names the REST API handler `<app>-<stage>` and every other function
  # `<app>-<stage>-<name>`; the names match the decorators in chalicelib/workers.py.
  lambda_names = {
    api_handler     = local.name
    dispatch_events = "${local.name}-dispatch_events"
    on_runner_event = "${local.name}-on_runner_event"
    reap_stuck_runs = "${local.name}-reap_stuck_runs"
    sweep_locks     = "${local.name}-sweep_locks"
    flush_feedback  = "${local.name}-flush_feedback"
  }

  lambda_arns = {
    for k, n in local.lambda_names : k => "arn:${local.partition}:lambda:${var.region}:${local.account_id}:function:${n}"
  }

  event_bus_name = "default"
}
