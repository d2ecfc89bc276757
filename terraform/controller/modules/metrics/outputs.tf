output "namespace" {
  description = "CloudWatch namespace of the controller's metrics."
  value       = local.namespace
}

output "names" {
  description = "Metric names by key."
  value       = local.names
}

output "metric_alarms" {
  description = "Alarm specifications on the controller's metrics, by alarm suffix: metric_name, statistic, period, threshold, comparison, dimensions, description."
  value       = local.metric_alarms
}

output "dashboard_body" {
  description = "The CloudWatch dashboard JSON: runs per pipeline, failures, durations, webhooks, cost, then the extra widgets."
  value       = jsonencode({ widgets = concat(local.run_widgets, var.dashboard_extra_widgets) })
}
