"""Runner backends: where a job runs (CodeBuild, ECS, SSM, a local subprocess)."""
