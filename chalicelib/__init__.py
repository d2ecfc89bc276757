"""MaestrOps: a GitOps controller for AWS."""
