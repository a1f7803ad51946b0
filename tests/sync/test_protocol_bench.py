"""The micro-benchmark returns what `edgehr bench sync` prints."""

from __future__ import annotations

import pytest

from sync.protocol.bench import BATCH_SIZES, seal_open_rate


def test_seal_open_rate_reports_timings_and_sizes() -> None:
    result = seal_open_rate(5)
    assert result["messages_per_batch_size"] == 5
    assert result["seal_us"] > 0 and result["open_us"] > 0 and result["open_per_s"] > 0
    assert result["ephemeral_x25519_us"] > 0
    batches = result["batches"]
    assert [b["records_per_message"] for b in batches] == list(BATCH_SIZES)
    per_record = [b["wire_bytes_per_record"] for b in batches]
    assert per_record == sorted(per_record, reverse=True)  # batching amortises overhead
    assert batches[0]["wire_bytes_per_record"] < 2 * batches[0]["plaintext_bytes_per_record"]
    assert batches[-1]["wire_vs_plaintext"] < 0.5  # compression beats plaintext JSON


def test_seal_open_rate_needs_messages() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        seal_open_rate(0)
