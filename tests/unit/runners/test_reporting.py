from __future__ import annotations

import json
import threading
import time

import boto3
from moto import mock_aws

from chalicelib.jobs import DETAIL_HEARTBEAT, DETAIL_RUN_FINISHED, RunnerEvent
from runners.report import DirectorySink, EventBridgeSink, Heartbeat, Reporter


def test_directory_sink_writes_numbered_whole_files(tmp_path):
    reporter = Reporter("run-1", DirectorySink(tmp_path))
    reporter.emit(DETAIL_HEARTBEAT, status="running")
    reporter.emit(DETAIL_RUN_FINISHED, status="succeeded", outputs={"a": 1})
    files = sorted(p.name for p in (tmp_path / "run-1").iterdir())
    assert files == ["000001.json", "000002.json"]
    body = json.loads((tmp_path / "run-1" / "000002.json").read_text())
    assert body["source"] == "maestrops.runner"
    assert body["detail-type"] == DETAIL_RUN_FINISHED
    assert RunnerEvent.model_validate(body["detail"]).outputs == {"a": 1}


def test_sequence_grows_across_threads(tmp_path):
    reporter = Reporter("run-2", DirectorySink(tmp_path))

    def burst():
        for _ in range(20):
            reporter.emit(DETAIL_HEARTBEAT, status="running")

    threads = [threading.Thread(target=burst) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(list((tmp_path / "run-2").glob("*.json"))) == 80


def test_heartbeat_repeats_the_extra_fields(tmp_path):
    reporter = Reporter("run-3", DirectorySink(tmp_path))
    with Heartbeat(reporter, 0.01, lambda: {"state_serial_before": 7}):
        deadline = time.monotonic() + 5
        while not list((tmp_path / "run-3").glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.01)
    first = json.loads(sorted((tmp_path / "run-3").glob("*.json"))[0].read_text())
    assert first["detail"]["state_serial_before"] == 7


@mock_aws
def test_eventbridge_sink_delivers_through_a_rule(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    sqs, events = boto3.client("sqs"), boto3.client("events")
    queue = sqs.create_queue(QueueName="runner-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    events.put_rule(Name="runner", EventPattern=json.dumps({"source": ["maestrops.runner"]}))
    events.put_targets(Rule="runner", Targets=[{"Id": "q", "Arn": arn["QueueArn"]}])

    Reporter("run-4", EventBridgeSink("default", events)).emit(DETAIL_HEARTBEAT, status="running")

    message = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"][0]
    event = json.loads(message["Body"])
    assert event["source"] == "maestrops.runner"
    assert event["detail-type"] == DETAIL_HEARTBEAT
    assert event["detail"]["run_id"] == "run-4" and event["detail"]["sequence"] == 1
