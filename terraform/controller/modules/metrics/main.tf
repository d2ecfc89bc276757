# The controller's own metrics, as chalicelib/metric_names.py emits them (EMF through
# powertools): namespace `MaestrOps`, dimension `service` on every metric, and `pipeline` too on
# the per-pipeline run metrics. tests/integration/terraform_config compares both files, so
# change them together.

locals {
  namespace = "MaestrOps"

  names = {
    webhook_accepted    = "WebhookAccepted"
    webhook_rejected    = "WebhookRejected"
    webhook_ignored     = "WebhookIgnored"
    webhook_duplicate   = "WebhookDuplicate"
    runs_started        = "RunsStarted"
    runs_succeeded      = "RunsSucceeded"
    runs_failed         = "RunsFailed"
    run_duration        = "RunDuration"
    deploy_failed       = "DeployFailed"
    runs_timed_out      = "RunsTimedOut"
    runs_unknown        = "RunsUnknown"
    monthly_cost_change = "MonthlyCostChange"
  }

  # Alarms on the controller's metrics. A missing data point means nothing happened, which is
  # good news for all of them.
  metric_alarms = {
    deploy-failed = {
      description = "A deploying pipeline (terraform-apply, ansible-monitoring, cd-application) failed."
      metric_name = local.names.deploy_failed
      statistic   = "Sum"
      period      = 300
      threshold   = 1
      comparison  = "GreaterThanOrEqualToThreshold"
      dimensions  = { service = var.service }
    }
    runs-timed-out = {
      description = "A run passed its timeout and the reaper marked it timed_out."
      metric_name = local.names.runs_timed_out
      statistic   = "Sum"
      period      = 300
      threshold   = 1
      comparison  = "GreaterThanOrEqualToThreshold"
      dimensions  = { service = var.service }
    }
    webhooks-rejected = {
      description = "Webhooks with a bad signature keep arriving: a wrong secret after a rotation, or someone probing the endpoint."
      metric_name = local.names.webhook_rejected
      statistic   = "Sum"
      period      = 900
      threshold   = 10
      comparison  = "GreaterThanOrEqualToThreshold"
      dimensions  = { service = var.service }
    }
  }

  # CloudWatch dashboard metric arrays: [namespace, name, dim1, value1, dim2, value2].
  runs_by_pipeline = [
    for p in var.pipelines : [local.namespace, local.names.runs_started, "service", var.service, "pipeline", p]
  ]
  failures_by_pipeline = [
    for p in var.pipelines : [local.namespace, local.names.runs_failed, "service", var.service, "pipeline", p]
  ]
  durations_by_pipeline = [
    for p in var.pipelines : [local.namespace, local.names.run_duration, "service", var.service, "pipeline", p]
  ]

  run_widgets = [
    {
      type = "metric", x = 0, y = 0, width = 12, height = 6
      properties = {
        title = "Runs started per pipeline", region = var.region, view = "timeSeries", stacked = true
        stat  = "Sum", period = 3600, metrics = local.runs_by_pipeline
      }
    },
    {
      type = "metric", x = 12, y = 0, width = 12, height = 6
      properties = {
        title = "Failures", region = var.region, view = "timeSeries", stacked = false
        stat  = "Sum", period = 3600
        metrics = concat(local.failures_by_pipeline, [
          [local.namespace, local.names.deploy_failed, "service", var.service],
          [local.namespace, local.names.runs_timed_out, "service", var.service],
        ])
      }
    },
    {
      type = "metric", x = 0, y = 6, width = 12, height = 6
      properties = {
        title = "Run duration per pipeline (p90, seconds)", region = var.region, view = "timeSeries"
        stat  = "p90", period = 3600, metrics = local.durations_by_pipeline
      }
    },
    {
      type = "metric", x = 12, y = 6, width = 12, height = 6
      properties = {
        title = "Webhooks", region = var.region, view = "timeSeries", stacked = true
        stat  = "Sum", period = 300
        metrics = [
          for n in ["webhook_accepted", "webhook_duplicate", "webhook_ignored", "webhook_rejected"] :
          [local.namespace, local.names[n], "service", var.service]
        ]
      }
    },
    {
      type = "metric", x = 0, y = 12, width = 12, height = 6
      properties = {
        title   = "Monthly cost change of merged PRs (USD)", region = var.region, view = "timeSeries"
        stat    = "Sum", period = 86400
        metrics = [[local.namespace, local.names.monthly_cost_change, "service", var.service]]
      }
    },
  ]
}
