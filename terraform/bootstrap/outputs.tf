output "state_bucket" {
  description = "Name of the state bucket: the `bucket` of every -backend-config file."
  value       = aws_s3_bucket.state.id
}

output "lock_table" {
  description = "Name of the lock table: the `dynamodb_table` of every -backend-config file."
  value       = aws_dynamodb_table.locks.name
}

output "region" {
  description = "Region of the bucket and the table: the `region` of every -backend-config file."
  value       = var.region
}
