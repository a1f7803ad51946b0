"""The per-frame decision over scripted sequences of frame evidence (the vision pipeline's outputs)."""

from __future__ import annotations

from device.attendance.decision import Confirmed, Decision, FrameEvidence
from device.attendance.outcomes import Idle, PoorImage, Spoof, Unknown, Waiting
from device.vision.types import Match, QualityVerdict

BOX = (100.0, 80.0, 120.0, 140.0)
OK = QualityVerdict(True, None)


Box = tuple[float, float, float, float]


def seen(no: str | None, score: float = 0.9, live: float = 0.95, box: Box = BOX) -> FrameEvidence:
    match = Match(no, score, 0.3, accepted=no is not None)
    return FrameEvidence(box, OK, live, match)


def spoof(live: float = 0.1) -> FrameEvidence:
    return FrameEvidence(BOX, OK, live, None)


def poor(reason: str) -> FrameEvidence:
    return FrameEvidence(BOX, QualityVerdict(False, reason), None, None)


NOBODY = FrameEvidence(None, QualityVerdict(False, "no-face"))


def run(frames: list[FrameEvidence], k: int = 3, live: int = 3) -> list[object]:
    decision = Decision(confirm_frames=k, liveness_frames=live, liveness_threshold=0.5)
    return [decision.step(f) for f in frames]


def confirmed(results: list[object]) -> list[Confirmed]:
    return [r for r in results if isinstance(r, Confirmed)]


def test_k_agreeing_live_frames_confirm_once() -> None:
    results = run([seen("E1", 0.8), seen("E1", 0.7), seen("E1", 0.9), seen("E1"), seen("E1")])
    assert results[:2] == [Waiting("hold-still"), Waiting("hold-still")]
    assert results[2] == Confirmed("E1", 0.7, 0.95)  # the weakest score of the confirming frames
    assert results[3:] == [Waiting("step-away"), Waiting("step-away")]  # one person standing = one punch


def test_fewer_than_k_frames_never_confirm() -> None:
    assert confirmed(run([seen("E1"), seen("E1"), NOBODY, seen("E1"), seen("E1")])) == []


def test_disagreeing_matches_never_confirm() -> None:
    # Alternating identities on the same face: every frame restarts the count, nobody is punched.
    frames = [seen("E1"), seen("E2")] * 10
    assert confirmed(run(frames)) == []


def test_identity_change_restarts_the_count_for_the_new_person() -> None:
    results = run([seen("E1"), seen("E1"), seen("E2"), seen("E2"), seen("E2")])
    assert confirmed(results) == [Confirmed("E2", 0.9, 0.95)]
    assert results.index(Confirmed("E2", 0.9, 0.95)) == 4  # K frames of E2 after the change


def test_after_a_punch_another_person_needs_k_frames_of_their_own() -> None:
    results = run([seen("E1")] * 3 + [seen("E2")] * 2 + [seen("E2")])
    assert [c.employee_no for c in confirmed(results)] == ["E1", "E2"]


def test_face_that_leaves_and_returns_is_decided_again() -> None:
    results = run([seen("E1")] * 3 + [NOBODY] + [seen("E1")] * 3)
    assert results[3] == Idle()
    assert [c.employee_no for c in confirmed(results)] == ["E1", "E1"]  # the rules debounce the second one


def test_a_face_jumping_elsewhere_is_a_new_face() -> None:
    far = (400.0, 300.0, 120.0, 140.0)
    results = run([seen("E1"), seen("E1"), seen("E1", box=far), seen("E1", box=far)])
    assert confirmed(results) == []


def test_unknown_after_k_unmatched_live_frames_once() -> None:
    results = run([seen(None, 0.2)] * 5)
    assert results[2] == Unknown()
    assert [r for r in results if isinstance(r, Unknown)] == [Unknown()]


def test_a_stray_wrong_match_inside_unknown_frames_never_punches() -> None:
    frames = [seen(None), seen("E7"), seen(None), seen("E7"), seen(None), seen("E7")]
    assert confirmed(run(frames)) == []


def test_liveness_failure_is_a_spoof_and_stays_refused() -> None:
    frames = [spoof(0.2), spoof(0.1), spoof(0.3)] + [seen("E1")] * 5
    results = run(frames)
    assert results[2] == Spoof(0.1)
    assert confirmed(results) == []  # the same face turning "live" later gets no punch
    assert results[3:] == [Waiting("step-away")] * 5


def test_a_single_non_live_frame_breaks_the_run() -> None:
    frames = [seen("E1"), seen("E1"), spoof(0.2), seen("E1"), seen("E1")]
    assert confirmed(run(frames)) == []


def test_liveness_frames_can_exceed_confirm_frames() -> None:
    results = run([seen("E1")] * 5, k=2, live=4)
    assert results.index(Confirmed("E1", 0.9, 0.95)) == 3


def test_poor_image_reports_reason_and_resets() -> None:
    results = run([seen("E1"), seen("E1"), poor("blurred"), seen("E1"), seen("E1")])
    assert results[2] == PoorImage("blurred")
    assert confirmed(results) == []


def test_missing_liveness_counts_for_nothing() -> None:
    frames = [FrameEvidence(BOX, OK, None, Match("E1", 0.9, 0.1, True))] * 6
    results = run(frames)
    assert confirmed(results) == [] and not [r for r in results if isinstance(r, Spoof)]


def test_match_below_threshold_for_enrolled_person_is_not_a_punch() -> None:
    # The gallery names a best candidate but did not accept it (threshold or margin): that is nobody.
    frames = [FrameEvidence(BOX, OK, 0.9, Match("E1", 0.55, 0.53, accepted=False))] * 5
    results = run(frames)
    assert confirmed(results) == [] and Unknown() in results


def lookalike(no: str = "E1") -> FrameEvidence:
    # E1 reached the threshold, but E2 scored within the margin: not accepted, a look-alike.
    return FrameEvidence(BOX, OK, 0.95, Match(no, 0.95, 0.94, accepted=False, lookalike=True))


def test_a_lookalike_inside_the_margin_gets_a_second_look_then_a_margin_unknown() -> None:
    results = run([lookalike()] * 6 + [lookalike()])
    assert results[2] == Waiting("look-again")  # not a silent "unknown": look once more
    assert results[3:5] == [Waiting("look-again")] * 2
    assert results[5] == Unknown(reason="margin")  # the banner asks for the badge or number
    assert results[6] == Waiting("step-away")


def test_a_second_look_that_clears_the_margin_confirms() -> None:
    results = run([lookalike()] * 3 + [seen("E1")] * 3)
    assert results[2] == Waiting("look-again")
    assert results[5] == Confirmed("E1", 0.9, 0.95)


def test_nobody_near_the_threshold_is_a_plain_unknown_without_a_second_look() -> None:
    results = run([seen(None)] * 3)
    assert results[2] == Unknown(reason="no-match")
