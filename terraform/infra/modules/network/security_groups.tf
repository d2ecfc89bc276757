# Who may talk to whom. The rules are inline blocks so that a reader (and the tests that read
# the parsed HCL) sees every opening of a group in one place.

locals {
  # Ports of the monitoring stack that only hosts inside the VPC may reach: Prometheus, Loki,
  # cAdvisor and node-exporter. Grafana is published only through Traefik on 443.
  internal_ports = {
    prometheus    = 9090
    loki          = 3100
    cadvisor      = 8080
    node_exporter = 9100
  }
}

resource "aws_security_group" "app" {
  name        = "${var.name}-app"
  description = "Application host: HTTP and HTTPS from anywhere (Traefik), exporters from the VPC"
  #checkov:skip=CKV_AWS_260:Port 80 serves the ACME HTTP-01 challenge and redirects to HTTPS; nothing else answers on it.
  #checkov:skip=CKV2_AWS_5:The group is attached to the instances in the compute module; the check cannot follow module outputs.
  vpc_id = aws_vpc.this.id

  ingress {
    description = "HTTP from anywhere; Traefik redirects it to HTTPS"
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  ingress {
    description = "HTTPS from anywhere"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  dynamic "ingress" {
    for_each = { for k, v in local.internal_ports : k => v if k == "cadvisor" || k == "node_exporter" }

    content {
      description = "${ingress.key} scraped by Prometheus inside the VPC"
      from_port   = ingress.value
      to_port     = ingress.value
      protocol    = "tcp"
      cidr_blocks = [var.vpc_cidr]
    }
  }

  # Outbound HTTPS (package repositories, container registries, SSM and CloudWatch endpoints,
  # ACME) and HTTP (OCSP, mirrors without TLS). DNS to the VPC resolver and time sync to the
  # link-local service are not filtered by security groups.
  egress {
    description = "HTTPS to package repositories, registries, AWS endpoints"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egress {
    description = "HTTP for OCSP and package mirrors"
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = merge(var.tags, { Name = "${var.name}-app" })
}

resource "aws_security_group" "monitoring" {
  name        = "${var.name}-monitoring"
  description = "Monitoring host: Grafana through Traefik on 443, the rest of the stack inside the VPC only"
  #checkov:skip=CKV_AWS_260:Port 80 serves the ACME HTTP-01 challenge and redirects to HTTPS; nothing else answers on it.
  #checkov:skip=CKV2_AWS_5:The group is attached to the instances in the compute module; the check cannot follow module outputs.
  vpc_id = aws_vpc.this.id

  ingress {
    description = "HTTPS to Traefik, which publishes Grafana"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = length(var.admin_cidrs) > 0 ? var.admin_cidrs : ["0.0.0.0/0"]
  }

  ingress {
    description = "HTTP for the ACME challenge; Traefik redirects everything else to HTTPS"
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  dynamic "ingress" {
    for_each = local.internal_ports

    content {
      description = "${ingress.key} from inside the VPC only"
      from_port   = ingress.value
      to_port     = ingress.value
      protocol    = "tcp"
      cidr_blocks = [var.vpc_cidr]
    }
  }

  # Outbound HTTPS (package repositories, container registries, SSM and CloudWatch endpoints,
  # ACME) and HTTP (OCSP, mirrors without TLS). DNS to the VPC resolver and time sync to the
  # link-local service are not filtered by security groups.
  egress {
    description = "HTTPS to package repositories, registries, AWS endpoints"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egress {
    description = "HTTP for OCSP and package mirrors"
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = merge(var.tags, { Name = "${var.name}-monitoring" })
}
