"""``GET /runs/{id}/logs`` and ``maestro runs logs`` over loopback, on chunks the runner's own
``LogShipper`` writes: in the local artifact folder, and in S3 (moto) as deployed."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import boto3
import pytest

from chalicelib.cli.main import main
from chalicelib.flows.logs import encode_cursor, run_artifact_prefix
from chalicelib.runs.model import Run, RunStatus
from chalicelib.services import Services, get_services, set_services
from runners.artifacts import store_for
from runners.process import LogShipper
from tests.functional.api.conftest import TOKEN, ServedApi
from tests.functional.api.test_contract import call, error_of
from tests.functional.conftest import REPO

RUN = "run-logs-1"


def seed_run(api: ServedApi, run_id: str = RUN, **fields) -> Run:
    run = Run(
        id=run_id,
        repo=REPO,
        pipeline="terraform-plan",
        sha="a" * 40,
        run_number=1,
        **fields,
    )
    store = api.controller.services.store
    store.create(run)
    store.transition(run_id, RunStatus.RUNNING, min_sequence=1)
    return store.update_fields(run_id, live_step="plan", live_step_sequence=2)


def logs(api: ServedApi, run_id: str = RUN, **params: str) -> tuple[int, dict]:
    query = f"?{urlencode(params)}" if params else ""
    status, _, body = call(api, "GET", f"/runs/{quote(run_id, safe='')}/logs{query}")
    return status, body


def shipper_for(services: Services, run_id: str, step: str, interval: float = 60) -> LogShipper:
    """The runner's writer on the prefix the controller gives the run's job."""
    store = store_for(run_artifact_prefix(services.settings, run_id))
    return LogShipper(store.put_bytes, step, interval)


def ship_now(shipper: LogShipper, text: str) -> None:
    """Whole lines go on the shipper's next round; wait for it, as a reader would."""
    before = shipper.chunks
    shipper.write(text)
    shipper._wake.set()
    deadline = time.monotonic() + 10
    while shipper.chunks == before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert shipper.chunks > before


def follow_a_step(api: ServedApi) -> None:
    seed_run(api)
    with shipper_for(get_services(), RUN, "plan") as shipper:
        ship_now(shipper, "Terraform will perform the following actions:\n")
        status, first = logs(api, step="plan")
        assert status == 200, first
        assert first["text"] == "Terraform will perform the following actions:\n"
        assert first["complete"] is False and first["step_status"] == "running"
        assert first["status"] == "running"
        # A line still being written stays with the runner; a read in between sees nothing.
        shipper.write("Plan: 1 to add")
        status, between = logs(api, step="plan", after=first["next"])
        assert (status, between["text"], between["complete"]) == (200, "", False)
        ship_now(shipper, ", 0 to change, 0 to destroy.\n")
        status, second = logs(api, step="plan", after=between["next"])
        assert second["text"] == "Plan: 1 to add, 0 to change, 0 to destroy.\n"
    status, last = logs(api, step="plan", after=second["next"])
    assert (status, last["text"], last["complete"]) == (200, "", True)
    for _ in range(2):  # the second and third time on the same state
        status, again = logs(api, step="plan", after=last["next"])
        assert (status, again["text"], again["complete"]) == (200, "", True)
        assert again["next"] == last["next"]
    status, whole = logs(api, step="plan")
    assert whole["text"].startswith("Terraform will") and whole["text"].endswith("destroy.\n")
    assert whole["complete"] is True
    status, listing = logs(api)
    assert status == 200
    assert listing == {
        "run_id": RUN,
        "status": "running",
        "steps": [{"name": "plan", "status": "running", "complete": True}],
    }


def test_a_step_log_is_read_while_it_grows_then_complete(served_api: ServedApi) -> None:
    follow_a_step(served_api)


def test_the_same_through_s3_as_deployed(served_api: ServedApi) -> None:
    """Without a local data dir the prefix is ``s3://<artifacts bucket>/runs/<id>/`` (moto)."""
    services = served_api.controller.services
    deployed = Services(
        services.settings.model_copy(update={"local_data_dir": None}),
        store=services.store,
        backends=services.backends,
    )
    set_services(deployed)
    try:
        follow_a_step(served_api)
    finally:
        set_services(services)
    keys = boto3.client("s3").list_objects_v2(
        Bucket=services.settings.artifacts_bucket, Prefix=f"runs/{RUN}/logs/plan/"
    )
    names = sorted(item["Key"].rsplit("/", 1)[1] for item in keys["Contents"])
    assert names == ["000000.log", "000001.log", "complete"]
    local = Path(services.settings.local_data_dir or "", "artifacts", "runs", RUN)
    assert not local.exists()  # nothing went to the local folder


def test_big_logs_come_in_pages_of_whole_chunks(served_api: ServedApi) -> None:
    seed_run(served_api)
    line = "x" * 99 + "\n"  # 100 bytes: 655 lines fill a 64 KiB chunk
    with shipper_for(served_api.controller.services, RUN, "plan") as shipper:
        shipper.write(line * 40 * 700)  # 2.8 MB: more than one answer holds
    texts, cursor, pages = [], None, 0
    while True:
        params = {"step": "plan", **({"after": cursor} if cursor else {})}
        status, page = logs(served_api, **params)
        assert status == 200
        texts.append(page["text"])
        cursor, pages = page["next"], pages + 1
        if page["complete"]:
            break
    assert "".join(texts) == line * 40 * 700
    assert pages == 2  # 32 chunks of 64 KiB, then the rest


def test_bad_cursors_unknown_runs_and_steps(served_api: ServedApi) -> None:
    seed_run(served_api)
    with shipper_for(served_api.controller.services, RUN, "plan") as shipper:
        ship_now(shipper, "one\n")
    forged = [
        "not-a-cursor",
        "%%%",
        encode_cursor("init", 1),  # another step's
        encode_cursor("plan", 5),  # past the end
        encode_cursor("plan", 1) + "x",
        "e30",  # {}
        "A" * 401,
    ]
    for cursor in forged:
        status, body = logs(served_api, step="plan", after=cursor)
        assert status == 400 and error_of(body) == "invalid_cursor", (cursor, body)
    status, body = logs(served_api, after=encode_cursor("plan", 1))
    assert status == 400 and error_of(body) == "invalid_parameter"
    status, body = logs(served_api, step="plan", tail="1")
    assert status == 400 and error_of(body) == "invalid_parameter"
    status, body = logs(served_api, run_id="run-none", step="plan")
    assert status == 404 and error_of(body) == "run_not_found"
    status, body = logs(served_api, run_id="run-none")
    assert status == 404 and error_of(body) == "run_not_found"
    for step in ("apply", "../plan", "plan/000000.log", ".", "a" * 101):
        status, body = logs(served_api, step=step)
        assert status == 404 and error_of(body) == "step_not_found", step
    status, _, body = call(served_api, "GET", f"/runs/{RUN}/logs?step=plan", headers={})
    assert status == 401 and error_of(body) == "unauthorized"


def test_the_checkout_comes_first_and_fails_with_the_run(served_api: ServedApi) -> None:
    services = served_api.controller.services
    seed_run(served_api)
    for step in ("plan", "checkout"):
        with shipper_for(services, RUN, step) as shipper:
            shipper.write(f"{step}\n")
    status, listing = logs(served_api)
    assert status == 200 and [s["name"] for s in listing["steps"]] == ["checkout", "plan"]
    assert listing["steps"][0] == {"name": "checkout", "status": "succeeded", "complete": True}
    services.store.transition(RUN, RunStatus.FAILED, failed_step="checkout")
    status, listing = logs(served_api)
    assert status == 200 and listing["status"] == "failed"
    assert listing["steps"][0] == {"name": "checkout", "status": "failed", "complete": True}
    assert listing["steps"][1] == {"name": "plan", "status": "interrupted", "complete": True}


def test_a_run_from_before_chunking_serves_its_whole_step_log(served_api: ServedApi) -> None:
    services = served_api.controller.services
    prefix = run_artifact_prefix(services.settings, RUN)
    uri = store_for(prefix).put_bytes("logs/plan.log", b"$ terraform plan\nNo changes.\n")
    seed_run(served_api, artifacts={"log:plan": uri})
    services.store.update_fields(RUN, live_step=None, live_step_sequence=0)
    services.store.update_fields(RUN, steps=[{"name": "plan", "status": "succeeded"}])
    status, page = logs(served_api, step="plan")
    assert status == 200 and page["text"] == "$ terraform plan\nNo changes.\n"
    assert page["complete"] is True and page["step_status"] == "succeeded"
    status, again = logs(served_api, step="plan", after=page["next"])
    assert (again["text"], again["complete"]) == ("", True)


def test_the_cli_follows_to_the_end_and_exits_with_the_outcome(
    served_api: ServedApi, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("MAESTRO_API_URL", served_api.url)
    monkeypatch.setenv("MAESTRO_API_TOKEN", TOKEN)
    seed_run(served_api)
    services = served_api.controller.services

    def runner(final: RunStatus) -> None:
        with shipper_for(services, RUN, "plan", interval=0.05) as shipper:
            for n in range(5):
                shipper.write(f"line {n}\n")
                time.sleep(0.1)
        services.store.update_fields(RUN, steps=[{"name": "plan", "status": "succeeded"}])
        with shipper_for(services, RUN, "cost", interval=0.05) as shipper:
            shipper.write("cost: +$0.00/mo\n")
        services.store.transition(RUN, final)

    writer = threading.Thread(target=runner, args=(RunStatus.FAILED,))
    writer.start()
    code = main(["runs", "logs", RUN, "--follow", "--interval", "0.1"])
    writer.join()
    out = capsys.readouterr().out
    assert code == 7  # the run failed
    assert out == "==> plan\n" + "".join(f"line {n}\n" for n in range(5)) + (
        "==> cost\ncost: +$0.00/mo\n"
    )
    # Not following: what is stored, once, and 0 whatever the run's outcome.
    for _ in range(2):
        assert main(["runs", "logs", RUN, "--step", "cost"]) == 0
        assert capsys.readouterr().out == "cost: +$0.00/mo\n"
    assert main(["runs", "logs", RUN, "--step", "nope"]) == 3
    assert main(["runs", "logs", "run-none", "--follow"]) == 3
    assert "step_not_found" in capsys.readouterr().err


def test_the_cli_follows_one_step_of_a_run_that_succeeds(
    served_api: ServedApi, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("MAESTRO_API_URL", served_api.url)
    monkeypatch.setenv("MAESTRO_API_TOKEN", TOKEN)
    services = served_api.controller.services
    seed_run(served_api)
    services.store.update_fields(RUN, live_step=None, live_step_sequence=0)

    def runner() -> None:
        time.sleep(0.3)  # the follower starts before the step has any log: it waits
        services.store.update_fields(RUN, live_step="apply", live_step_sequence=3)
        with shipper_for(services, RUN, "apply", interval=0.05) as shipper:
            shipper.write("Apply complete!\n")
        services.store.transition(RUN, RunStatus.SUCCEEDED)

    writer = threading.Thread(target=runner)
    writer.start()
    code = main(["runs", "logs", RUN, "--step", "apply", "--follow", "--interval", "0.1"])
    writer.join()
    assert code == 0
    assert capsys.readouterr().out == "Apply complete!\n"
    assert json.loads(json.dumps(logs(served_api, step="apply")[1]))["complete"] is True
