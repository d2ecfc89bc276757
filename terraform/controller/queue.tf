# Webhook triggers wait here between the webhook and the dispatcher. FIFO with the repository as
# message group: one repository's events are handled in order, different repositories in
# parallel. A message that fails maxReceiveCount times moves to the DLQ (and pages someone).

locals {
  # Built from the name, not the resource, so that the DLQ can name its only source queue.
  events_queue_name = "${local.name}-events.fifo"
  events_queue_arn  = "arn:${local.partition}:sqs:${var.region}:${local.account_id}:${local.events_queue_name}"
}

resource "aws_sqs_queue" "events_dlq" {
  name                      = "${local.name}-events-dlq.fifo"
  fifo_queue                = true
  message_retention_seconds = 1209600 # 14 days, the maximum: time to look and redrive
  kms_master_key_id         = aws_kms_key.controller.arn

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [local.events_queue_arn]
  })
}

resource "aws_sqs_queue" "events" {
  name                        = local.events_queue_name
  fifo_queue                  = true
  content_based_deduplication = false # the webhook sets the delivery id as deduplication id
  deduplication_scope         = "messageGroup"
  fifo_throughput_limit       = "perMessageGroupId"
  visibility_timeout_seconds  = 1800 # six times dispatch_events' timeout (300 s), as AWS advises
  message_retention_seconds   = 345600
  kms_master_key_id           = aws_kms_key.controller.arn

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.events_dlq.arn
    maxReceiveCount     = 5
  })
}
