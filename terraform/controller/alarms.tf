# Alarms, all to one SNS topic: the controller's own metrics (module.metrics, the names the
# Python code emits), the queues' dead letters and the functions' errors.

module "metrics" {
  source = "./modules/metrics"

  service = var.app_name
  region  = var.region
  dashboard_extra_widgets = [
    {
      type = "metric", x = 12, y = 12, width = 12, height = 6
      properties = {
        title   = "Lambda errors", region = var.region, view = "timeSeries", stacked = true
        stat    = "Sum", period = 300
        metrics = [for k, n in local.lambda_names : ["AWS/Lambda", "Errors", "FunctionName", n]]
      }
    },
    {
      type = "metric", x = 0, y = 18, width = 12, height = 6
      properties = {
        title = "Queue: waiting, oldest (s), dead letters", region = var.region, view = "timeSeries"
        stat  = "Maximum", period = 300
        metrics = [
          ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.events.name],
          ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", aws_sqs_queue.events.name],
          ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.events_dlq.name],
        ]
      }
    },
  ]
}

resource "aws_sns_topic" "alarms" {
  name              = "${local.name}-alarms"
  kms_master_key_id = aws_kms_key.controller.arn
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count = var.alarm_email != "" ? 1 : 0

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

resource "aws_cloudwatch_metric_alarm" "controller" {
  for_each = module.metrics.metric_alarms

  alarm_name          = "${local.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = module.metrics.namespace
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = each.value.period
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = each.value.comparison
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "dlq" {
  for_each = {
    events     = aws_sqs_queue.events_dlq.name
    eventrules = aws_sqs_queue.events_rules_dlq.name
  }

  alarm_name          = "${local.name}-dlq-${each.key}"
  alarm_description   = "Messages reached the dead-letter queue ${each.value}: look at them, fix the cause, redrive."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  for_each = local.lambda_names

  alarm_name          = "${local.name}-errors-${replace(each.key, "_", "-")}"
  alarm_description   = "Lambda ${each.value} raised errors."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_dashboard" "controller" {
  dashboard_name = local.name
  dashboard_body = module.metrics.dashboard_body
}
