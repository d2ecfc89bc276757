"""``maestro``: local mode (serve, demo, send-webhook) and the runs API client (runs).

Exit codes: 0 done; 1 the API refused the request (a conflict, a permanent error);
2 usage (a bad command line, or a parameter the API rejected); 3 not found; 4 not
authorized (token or AWS credentials); 5 the API could not be reached; 6 the API failed
(a 5xx); 7 ``runs logs --follow``: the run ended without succeeding; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

from chalicelib.cli.client import ApiError, RunsApiClient, post_webhook
from chalicelib.cli.render import run_details, runs_table

__all__ = ["main", "post_webhook"]  # post_webhook lives in client.py; kept here for callers

DEFAULT_URL = "http://127.0.0.1:8000"
EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_AUTH = 4
EXIT_UNREACHABLE = 5
EXIT_SERVER_ERROR = 6
EXIT_INTERRUPTED = 130


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.command(args) or 0)
    except ApiError as exc:
        print(f"maestro: {exc}", file=sys.stderr)
        return exit_code_for(exc.status)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def exit_code_for(status: int) -> int:
    """The documented exit code for an API answer's HTTP status (0: not reached)."""
    if status == 0:
        return EXIT_UNREACHABLE
    if status in (401, 403):
        return EXIT_AUTH
    if status == 404:
        return EXIT_NOT_FOUND
    if status in (400, 405, 413, 415):
        return EXIT_USAGE
    return EXIT_SERVER_ERROR if status >= 500 else EXIT_REFUSED


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        return package_version("maestrops")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="maestro", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"maestro {version()}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the controller locally (moto for AWS)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--data-dir", type=Path, default=Path(".maestro"))
    serve.set_defaults(command=cmd_serve)

    demo = commands.add_parser("demo", help="play the seed's flow in local mode and exit")
    demo.add_argument("--data-dir", type=Path, default=Path(".maestro/demo"))
    demo.add_argument("--port", type=int, default=0, help="0: any free port")
    demo.set_defaults(command=cmd_demo)

    send = commands.add_parser("send-webhook", help="sign and post a webhook payload")
    send.add_argument("event", help="X-GitHub-Event, e.g. push or pull_request")
    send.add_argument("file", type=Path, help="JSON payload")
    send.add_argument(
        "--url",
        default=None,
        help="the controller's base URL or its webhook URL as serve prints it (MAESTRO_API_URL)",
    )
    send.add_argument(
        "--form", action="store_true", help="send as application/x-www-form-urlencoded"
    )
    send.add_argument("--secret", default=None, help="webhook secret (MAESTRO_WEBHOOK_SECRET)")
    send.add_argument("--delivery", default=None, help="X-GitHub-Delivery (random by default)")
    send.set_defaults(command=cmd_send_webhook)

    runs = commands.add_parser("runs", help="query the runs API").add_subparsers(
        required=True, metavar="ACTION"
    )
    listing = runs.add_parser("list", help="list runs, newest first")
    for name in ("repo", "pipeline", "status", "branch", "since", "cursor"):
        listing.add_argument(f"--{name}")
    listing.add_argument("--pr", type=int)
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.add_argument(
        "--all", action="store_true", help="follow every page (--limit is then the page size)"
    )
    listing.set_defaults(command=cmd_runs_list)
    show = runs.add_parser("show", help="one run")
    show.add_argument("run_id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(command=cmd_runs_show)
    for action, text in (("retry", "start a new run of a failed one"), ("cancel", "cancel a run")):
        acting = runs.add_parser(action, help=text)
        acting.add_argument("run_id")
        acting.add_argument("--json", action="store_true")
        acting.set_defaults(command=cmd_runs_act, action=action)
    resolve = runs.add_parser("resolve", help="settle a run left unknown by a dead runner")
    resolve.add_argument("run_id")
    resolve.add_argument("--as", dest="outcome", required=True, choices=["succeeded", "failed"])
    resolve.add_argument("--json", action="store_true")
    resolve.set_defaults(command=cmd_runs_act, action="resolve")
    from chalicelib.cli.logs import add_logs_parser

    add_logs_parser(runs, api_client)
    costs = commands.add_parser("costs", help="monthly cost of a repository's plans over time")
    costs.add_argument("--repo", required=True)
    costs.add_argument("--pipeline", default="terraform-plan")
    costs.add_argument("--limit", type=int, default=20)
    costs.add_argument("--json", action="store_true")
    costs.set_defaults(command=cmd_costs)
    from chalicelib.cli.locks import add_locks_parser

    add_locks_parser(commands, api_client)
    from chalicelib.cli.queue import add_queue_parser

    add_queue_parser(commands)
    return parser


def cmd_costs(args: argparse.Namespace) -> int:
    history = api_client().costs(args.repo, args.pipeline, args.limit)
    if args.json:
        print(json.dumps(history, indent=2))
        return 0
    print(f"{'CREATED':<25}{'PR':>5}  {'SHA':<8}{'MONTHLY':>12}{'CHANGE':>12}  ESTIMATOR")
    for point in history["points"]:
        print(
            f"{point['created_at']:<25}{point['pr'] or '-':>5}  {point['sha'][:7]:<8}"
            f"{point['total_monthly_cost']:>12}{point['diff_total_monthly_cost'] or '-':>12}"
            f"  {point['estimator'] or '-'}"
        )
    trend = history["trend"]
    if trend["change"] is not None:
        print(f"\ntrend: {trend['first']} -> {trend['last']} ({trend['change']})")
    return 0


def api_client() -> RunsApiClient:
    return RunsApiClient(
        os.environ.get("MAESTRO_API_URL", DEFAULT_URL), os.environ.get("MAESTRO_API_TOKEN")
    )


def cmd_runs_list(args: argparse.Namespace) -> int:
    """A JSON array with ``--json`` (all pages with ``--all``); otherwise a table. When more
    runs remain, the next cursor goes to stderr, so stdout stays the documented array."""
    filters = {
        name: getattr(args, name)
        for name in ("repo", "pipeline", "status", "branch", "since", "cursor", "pr", "limit")
    }
    client = api_client()
    if args.all:
        runs, cursor = list(client.iter_runs(**filters)), None
    else:
        page = client.list_runs(**filters)
        runs, cursor = page["runs"], page.get("next_cursor")
    print(json.dumps(runs, indent=2) if args.json else runs_table(runs))
    if cursor:
        print(f"more: --cursor {cursor}", file=sys.stderr if args.json else sys.stdout)
    return EXIT_OK


def cmd_runs_show(args: argparse.Namespace) -> int:
    run = api_client().get_run(args.run_id)
    print(json.dumps(run, indent=2) if args.json else run_details(run))
    return 0


def cmd_runs_act(args: argparse.Namespace) -> int:
    client = api_client()
    if args.action == "retry":
        run = client.retry_run(args.run_id)
    elif args.action == "cancel":
        run = client.cancel_run(args.run_id)
    else:
        run = client.resolve_run(args.run_id, args.outcome)
    print(json.dumps(run, indent=2) if args.json else run_details(run))
    return 0


def cmd_send_webhook(args: argparse.Namespace) -> int:
    secret = args.secret or os.environ.get("MAESTRO_WEBHOOK_SECRET")
    if not secret:
        print("maestro: no secret: pass --secret or set MAESTRO_WEBHOOK_SECRET", file=sys.stderr)
        return EXIT_USAGE
    try:
        body = args.file.read_bytes()
    except OSError as exc:
        print(f"maestro: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    url = args.url or os.environ.get("MAESTRO_API_URL", DEFAULT_URL)
    delivery = args.delivery or str(uuid.uuid4())
    status, text = post_webhook(url, args.event, body, secret, delivery, form=args.form)
    print(status)
    print(text)
    return EXIT_OK if status < 400 else exit_code_for(status)


def cmd_serve(args: argparse.Namespace) -> int:
    from chalicelib.local.controller import LocalController

    controller = LocalController(host=args.host, port=args.port, data_dir=args.data_dir).start()
    print(f"MaestrOps local controller on {controller.url}")
    print(f"  webhook:  POST {controller.url}/webhooks/github")
    print(f"  AWS:      moto on {controller.aws.endpoint if controller.aws else '?'}")
    print(f"  export MAESTRO_API_URL={controller.url}")
    print(f"  export MAESTRO_API_TOKEN={controller.api_token}")
    print(f"  export MAESTRO_WEBHOOK_SECRET={controller.webhook_secret}")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


def cmd_demo(args: argparse.Namespace) -> int:
    from chalicelib.cli.demo import run_demo

    return run_demo(args.data_dir, args.port)


if __name__ == "__main__":
    sys.exit(main())
