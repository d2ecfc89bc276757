"""GitHub webhook ingress, pure: signatures, payload models, normalization to a Trigger."""
