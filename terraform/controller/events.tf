# Event wiring of the functions that Chalice deploys (docs/deploy.md, second apply with
# wire_lambdas = true). Chalice itself creates the rule for the runner's own events
# (`on_cw_event` in chalicelib/workers.py) and the two schedules; this file adds what
# Chalice cannot express: the SQS source with partial batch failures, and the AWS services'
# state changes routed to on_runner_event.

locals {
  # The same transitions as the runner's own "Run Finished" events, for runners that died
  # before they could report (chalicelib/backends/service_events.py maps them).
  service_state_patterns = {
    codebuild = {
      source      = ["aws.codebuild"]
      detail-type = ["CodeBuild Build State Change"]
      detail      = { project-name = [aws_codebuild_project.runner.name] }
    }
    ecs = {
      source      = ["aws.ecs"]
      detail-type = ["ECS Task State Change"]
      detail      = { clusterArn = [aws_ecs_cluster.runner.arn] }
    }
    ssm = {
      source      = ["aws.ssm"]
      detail-type = ["EC2 Command Status-change Notification"]
    }
  }
}

resource "aws_cloudwatch_event_rule" "service_state" {
  for_each = local.service_state_patterns

  name           = "${local.name}-${each.key}-state"
  description    = "${each.key} state changes of MaestrOps runners, to on_runner_event"
  event_bus_name = local.event_bus_name
  event_pattern  = jsonencode(each.value)
}

resource "aws_cloudwatch_event_target" "service_state" {
  for_each = toset([for k in keys(local.service_state_patterns) : k if var.wire_lambdas])

  rule           = aws_cloudwatch_event_rule.service_state[each.key].name
  event_bus_name = local.event_bus_name
  arn            = local.lambda_arns["on_runner_event"]

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 20
  }

  dead_letter_config {
    arn = aws_sqs_queue.events_rules_dlq.arn
  }
}

resource "aws_lambda_permission" "service_state" {
  for_each = toset([for k in keys(local.service_state_patterns) : k if var.wire_lambdas])

  statement_id  = "maestrops-${each.key}-state"
  action        = "lambda:InvokeFunction"
  function_name = local.lambda_names["on_runner_event"]
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.service_state[each.key].arn
}

# Events that EventBridge could not deliver to the function after its retries.
resource "aws_sqs_queue" "events_rules_dlq" {
  name                      = "${local.name}-eventbridge-dlq"
  message_retention_seconds = 1209600
  kms_master_key_id         = aws_kms_key.controller.arn
}

data "aws_iam_policy_document" "events_rules_dlq" {
  statement {
    sid       = "EventBridgeDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.events_rules_dlq.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [for r in aws_cloudwatch_event_rule.service_state : r.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "events_rules_dlq" {
  queue_url = aws_sqs_queue.events_rules_dlq.id
  policy    = data.aws_iam_policy_document.events_rules_dlq.json
}

resource "aws_lambda_event_source_mapping" "dispatch_events" {
  count = var.wire_lambdas ? 1 : 0

  event_source_arn        = aws_sqs_queue.events.arn
  function_name           = local.lambda_names["dispatch_events"]
  batch_size              = 10
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = 10
  }
}
