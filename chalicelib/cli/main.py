"""``maestro``: local mode (serve, demo, send-webhook) and the runs API client (runs)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from chalicelib.cli.client import ApiError, RunsApiClient
from chalicelib.cli.render import run_details, runs_table

DEFAULT_URL = "http://127.0.0.1:8000"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.command(args) or 0)
    except ApiError as exc:
        print(f"maestro: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="maestro", description=__doc__)
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
    send.add_argument("--url", default=None, help="controller base URL (MAESTRO_API_URL)")
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
    costs = commands.add_parser("costs", help="monthly cost of a repository's plans over time")
    costs.add_argument("--repo", required=True)
    costs.add_argument("--pipeline", default="terraform-plan")
    costs.add_argument("--limit", type=int, default=20)
    costs.add_argument("--json", action="store_true")
    costs.set_defaults(command=cmd_costs)
    from chalicelib.cli.locks import add_locks_parser

    add_locks_parser(commands, api_client)
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
    filters = {
        name: getattr(args, name)
        for name in ("repo", "pipeline", "status", "branch", "since", "cursor", "pr", "limit")
    }
    page = api_client().list_runs(**filters)
    if args.json:
        print(json.dumps(page["runs"], indent=2))
    else:
        print(runs_table(page["runs"]))
        if page.get("next_cursor"):
            print(f"\nmore: --cursor {page['next_cursor']}")
    return 0


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
        return 2
    body = args.file.read_bytes()
    url = (args.url or os.environ.get("MAESTRO_API_URL", DEFAULT_URL)).rstrip("/")
    status, text = post_webhook(url, args.event, body, secret, args.delivery or str(uuid.uuid4()))
    print(status)
    print(text)
    return 1 if status >= 400 else 0


def post_webhook(url: str, event: str, body: bytes, secret: str, delivery: str) -> tuple[int, str]:
    from chalicelib.events.signature import sign

    request = urllib.request.Request(
        f"{url}/webhooks/github",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": sign(secret.encode(), body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except urllib.error.URLError as exc:
        raise ApiError(0, f"cannot reach {url}: {exc.reason}") from None


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
