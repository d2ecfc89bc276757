output "hosts" {
  description = "The hosts of this role, in order: name (`<role>-<n>`), instance_id, public_ip (the Elastic IP) and private_ip."
  value = [
    for i, instance in aws_instance.this : {
      name        = "${var.role}-${i + 1}"
      instance_id = instance.id
      public_ip   = aws_eip.this[i].public_ip
      private_ip  = instance.private_ip
    }
  ]
}

output "public_ips" {
  description = "Elastic IPs of the hosts, in order."
  value       = aws_eip.this[*].public_ip
}

output "iam_role_name" {
  description = "Name of the hosts' IAM role, to attach more policies (for example reading the app's secrets)."
  value       = aws_iam_role.this.name
}
