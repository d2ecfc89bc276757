# The run store (docs/store.md): one table for runs, counters and locks with four indexes, and
# powertools' idempotency table for webhook deliveries.

locals {
  # index name => its key attributes (all strings, sort key `<created_at>#<run_id>`).
  run_indexes = {
    by_repo          = { hash = "gsi1pk", range = "gsi1sk" }
    by_repo_pipeline = { hash = "gsi2pk", range = "gsi2sk" }
    by_repo_pr       = { hash = "gsi3pk", range = "gsi3sk" }
    by_status        = { hash = "gsi4pk", range = "gsi4sk" }
    by_time          = { hash = "gsi5pk", range = "gsi5sk" } # every run, partition RUNS
  }
}

resource "aws_dynamodb_table" "main" {
  name         = "${local.name}-runs"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  dynamic "attribute" {
    for_each = toset(flatten([for i in values(local.run_indexes) : [i.hash, i.range]]))

    content {
      name = attribute.value
      type = "S"
    }
  }

  dynamic "global_secondary_index" {
    for_each = local.run_indexes

    content {
      name            = global_secondary_index.key
      hash_key        = global_secondary_index.value.hash
      range_key       = global_secondary_index.value.range
      projection_type = "ALL"
    }
  }

  # Leases and counters' leftovers expire; runs carry no expires_at and stay.
  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.controller.arn
  }

  deletion_protection_enabled = var.stage == "prod"
}

resource "aws_dynamodb_table" "idempotency" {
  name         = "${local.name}-idempotency"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"

  attribute {
    name = "id"
    type = "S"
  }

  ttl {
    attribute_name = "expiration"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.controller.arn
  }
}
