"""``python -m runners run --job JOB`` and ``python -m runners plugin-dir DIR``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runners")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute a job")
    run.add_argument("--job", default=None, help="JSON file, s3:// URI, or 'env' (default)")
    plugins = sub.add_parser("plugin-dir", help="lay out a Terraform plugin directory")
    plugins.add_argument("directory")
    gha = sub.add_parser("github-job", help="write the job of a GitHub Actions run")
    gha.add_argument("--pipeline", required=True)
    gha.add_argument("--out", default="job.json")
    args = parser.parse_args(argv)
    if args.command == "github-job":
        import os
        from pathlib import Path

        from runners.actions import write_job

        job = write_job(args.pipeline, Path(args.out), os.environ)
        print(f"{job.pipeline} {job.sha[:7]}: {', '.join(s.name for s in job.steps)}")
        return 0
    if args.command == "plugin-dir":
        from runners.plugins import ensure_plugin_dir

        print(ensure_plugin_dir(args.directory))
        return 0
    from runners.exceptions import JobLoadError
    from runners.executor import Executor
    from runners.job import load_job

    try:
        job = load_job(args.job)
    except JobLoadError as exc:
        print(f"maestro runner: {exc}", file=sys.stderr)
        return 2
    return Executor(job).run()


if __name__ == "__main__":
    sys.exit(main())
