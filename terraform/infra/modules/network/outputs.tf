output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "CIDR block of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "IDs of the public subnets, one per availability zone, in the order of var.availability_zones."
  value       = aws_subnet.public[*].id
}

output "security_group_ids" {
  description = "Security group ID per role (`app`, `monitoring`)."
  value = {
    app        = aws_security_group.app.id
    monitoring = aws_security_group.monitoring.id
  }
}
