"""``.gitops.yml`` and routing: which pipelines a GitHub event starts."""
