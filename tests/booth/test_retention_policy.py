"""The site's retention policy on the booth: the ``retention-policy`` command is validated and applied in the
transaction of its ack; the job deletes audio after N days and transcripts and scores after M days, the
latter only once the server acknowledged the session's result; it audits the counts and reports them in a
``retention-run`` record. Without a policy the booth follows its config."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.clock import FakeClock
from device.booth.retention import enforce
from device.config.booth import BoothSection
from device.config.device import DeviceConfig
from device.courier import downlink
from device.courier.commands import DownlinkContext
from device.store import Store, downlinks, outbox, retention_policy
from sync.protocol import BadPayload, Identity, MessageType, PeerKeys, RetentionPolicyBody, decode_body
from tests.booth.test_rights import finished_session


def context(store: Store, tmp_path: Path, kind: str = "booth") -> DownlinkContext:
    config = DeviceConfig.model_validate({"device": {"id": "booth-1", "kind": kind, "state_dir": str(tmp_path)},
                                         "camera": {"source": "fake"}})  # fmt: skip
    return DownlinkContext(store=store, clock=FakeClock(datetime.now(UTC)), config=config, config_path=None,
                           data_key=None, server_keys=PeerKeys("server", Identity.generate().public),
                           save_server_keys=lambda peer: None)  # fmt: skip


def test_the_command_is_validated_and_applied_with_its_ack(store: Store, tmp_path: Path) -> None:
    with pytest.raises(BadPayload):  # audio would outlive its transcript: refused when the message is opened
        decode_body(MessageType.RETENTION_POLICY, b'{"audio_days":40,"command_seq":1,"transcript_days":30}')
    with pytest.raises(BadPayload):
        decode_body(MessageType.RETENTION_POLICY, b'{"audio_days":0,"command_seq":1,"transcript_days":30}')
    ctx = context(store, tmp_path)
    done = downlink.apply_command(ctx, RetentionPolicyBody(command_seq=1, audio_days=7, transcript_days=90))
    assert done.outcome == "applied" and done.detail["enforced"] is True
    assert retention_policy.current(store) == retention_policy.Policy(7, 90, 1)
    assert downlinks.command_floor(store) == 1  # recorded as applied in the same transaction
    again = downlink.apply_command(ctx, RetentionPolicyBody(command_seq=1, audio_days=7, transcript_days=90))
    assert again.repeated
    downlink.apply_command(ctx, RetentionPolicyBody(command_seq=2, audio_days=3, transcript_days=30))
    assert retention_policy.current(store) == retention_policy.Policy(3, 30, 2)  # the newest replaces it


def runs(store: Store) -> list[dict[str, object]]:
    rows = store.conn.execute("SELECT body FROM outbox WHERE type = 'retention-run' ORDER BY seq").fetchall()
    return [json.loads(r[0]) for r in rows]


def test_transcripts_go_after_m_days_only_once_the_result_is_acknowledged(store: Store, tmp_path: Path,
                                                                          answers: Path) -> None:
    session_id = finished_session(store, tmp_path, answers)
    audio = list((tmp_path / "audio" / session_id).glob("*.pcm"))
    with store.transaction() as conn:
        retention_policy.replace(conn, 2, 5, command_seq=1, at_ms=0)
    later = FakeClock(datetime.now(UTC) + timedelta(days=3))
    run = enforce(store, later, BoothSection())
    assert (run.policy, run.audio_sessions, run.audio_files, run.transcript_sessions) == ("server", 1, len(audio), 0)
    assert not any(p.exists() for p in audio)
    past = FakeClock(datetime.now(UTC) + timedelta(days=6))
    held = enforce(store, past, BoothSection())
    assert held.transcript_sessions == 0 and held.held_unsent == 1  # its result is not acknowledged yet
    assert store.conn.execute("SELECT count(*) FROM booth_answers").fetchone()[0] > 0
    result_seq = store.conn.execute("SELECT outbox_seq FROM booth_sessions").fetchone()[0]
    outbox.mark_delivered(store, [result_seq], 1)
    done = enforce(store, past, BoothSection())
    assert done.transcript_sessions == 1 and done.answers >= 1 and done.held_unsent == 0
    for table in ("booth_sessions", "booth_answers", "booth_transcript"):
        assert store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
    result = json.loads(store.conn.execute("SELECT body FROM outbox WHERE seq = ?", (result_seq,)).fetchone()[0])
    assert result["answers"] == [] and result["scores"] == [] and result["session_id"] == session_id
    assert [r["transcript_sessions"] for r in runs(store)] == [0, 0, 1]  # one report per run that did something
    assert enforce(store, past, BoothSection()).transcript_sessions == 0 and len(runs(store)) == 3
    audited = store.conn.execute("SELECT detail FROM audit_log WHERE action = 'interview-transcript-retention'"
                                 " ORDER BY id DESC").fetchone()[0]  # fmt: skip
    assert json.loads(audited)["sessions"] == 1 and "transcript" not in json.loads(audited)


def test_without_a_policy_the_booth_follows_its_config(store: Store, tmp_path: Path, answers: Path) -> None:
    finished_session(store, tmp_path, answers)
    in_ten_days = FakeClock(datetime.now(UTC) + timedelta(days=10))
    run = enforce(store, in_ten_days, BoothSection(retention_days=9, transcript_retention_days=11))
    assert (run.policy, run.audio_days, run.transcript_days) == ("config", 9, 11)
    assert run.audio_sessions == 1 and run.transcript_sessions == 0 and run.held_unsent == 0
