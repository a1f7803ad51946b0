"""Gallery search semantics: threshold, margin, runner-up from another person, immediate removal."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from core.errors import InputError
from device.vision.gallery import DIM, Gallery


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def near(base: np.ndarray, cosine: float, rng: np.random.Generator) -> np.ndarray:
    """A unit vector with exactly the given cosine to ``base`` (unit)."""
    other = rng.standard_normal(DIM)
    other -= other.dot(base) * base
    other /= np.linalg.norm(other)
    return unit(cosine * base + np.sqrt(1 - cosine**2) * other)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(3)


def test_best_person_accepted_above_threshold_with_margin(rng: np.random.Generator) -> None:
    alice, bob = unit(rng.standard_normal(DIM)), unit(rng.standard_normal(DIM))
    gallery = Gallery(threshold=0.6, margin=0.05)
    gallery.add("alice", alice)
    gallery.add("bob", bob)
    query = near(alice, 0.8, rng)
    match = gallery.search(query)
    assert match.employee_no == "alice" and match.accepted
    assert match.score == pytest.approx(0.8, abs=1e-5)
    assert match.runner_up == pytest.approx(float(bob @ query), abs=1e-5)


def test_below_threshold_is_not_accepted(rng: np.random.Generator) -> None:
    alice = unit(rng.standard_normal(DIM))
    gallery = Gallery(threshold=0.6, margin=0.05)
    gallery.add("alice", alice)
    match = gallery.search(near(alice, 0.55, rng))
    assert match.employee_no == "alice" and not match.accepted


def test_runner_up_is_another_person_not_the_same_persons_other_template(rng: np.random.Generator) -> None:
    alice = unit(rng.standard_normal(DIM))
    gallery = Gallery(threshold=0.6, margin=0.05)
    # Alice has two near-identical templates; if the runner-up were her own second template the margin
    # would always fail for people with several templates.
    gallery.add("alice", np.stack([alice, near(alice, 0.99, rng)]))
    bob = near(alice, 0.3, rng)
    gallery.add("bob", bob)
    match = gallery.search(alice)
    assert match.employee_no == "alice" and match.accepted
    assert match.runner_up == pytest.approx(0.3, abs=1e-5)


def test_margin_rejects_a_look_alike(rng: np.random.Generator) -> None:
    alice = unit(rng.standard_normal(DIM))
    twin = near(alice, 0.9, rng)
    gallery = Gallery(threshold=0.6, margin=0.05)
    gallery.add("alice", alice)
    gallery.add("twin", twin)
    query = unit(alice + twin)  # equally close to both
    match = gallery.search(query)
    assert match.score >= 0.6
    assert match.score - match.runner_up < 0.05
    assert not match.accepted


def test_remove_is_immediate(rng: np.random.Generator) -> None:
    alice, bob = unit(rng.standard_normal(DIM)), unit(rng.standard_normal(DIM))
    gallery = Gallery(threshold=0.6, margin=0.05)
    gallery.add_many({"alice": alice, "bob": bob})
    assert gallery.search(alice).accepted
    assert gallery.remove("alice")
    match = gallery.search(alice)
    assert match.employee_no == "bob" and not match.accepted
    assert "alice" not in gallery and len(gallery) == 1
    assert not gallery.remove("alice")


def test_add_appends_and_replace_overwrites(rng: np.random.Generator) -> None:
    a1, a2 = unit(rng.standard_normal(DIM)), unit(rng.standard_normal(DIM))
    gallery = Gallery(threshold=0.6, margin=0.05)
    gallery.add("alice", a1)
    gallery.add("alice", a2)
    assert len(gallery) == 2 and gallery.people == ("alice",)
    assert gallery.search(a1).accepted and gallery.search(a2).accepted
    gallery.replace("alice", a2)
    assert len(gallery) == 1 and not gallery.search(a1).accepted


def test_verify_one_to_one(rng: np.random.Generator) -> None:
    alice, bob = unit(rng.standard_normal(DIM)), unit(rng.standard_normal(DIM))
    gallery = Gallery(threshold=0.6, margin=0.05)
    gallery.add_many({"alice": alice, "bob": bob})
    assert gallery.verify("alice", near(alice, 0.9, rng)).accepted
    assert not gallery.verify("bob", near(alice, 0.9, rng)).accepted  # a claim of the wrong person
    unknown = gallery.verify("carol", alice)
    assert unknown.employee_no == "carol" and not unknown.accepted


def test_empty_gallery_and_bad_vectors(rng: np.random.Generator) -> None:
    gallery = Gallery(threshold=0.6, margin=0.05)
    empty = gallery.search(unit(rng.standard_normal(DIM)))
    assert empty.employee_no is None and not empty.accepted
    with pytest.raises(InputError):
        gallery.add("alice", np.ones(DIM, np.float32))  # not unit length
    with pytest.raises(InputError):
        gallery.add("alice", np.zeros((1, 64), np.float32))
    assert len(gallery) == 0  # nothing half-added


def test_searches_see_a_whole_gallery_while_it_changes(rng: np.random.Generator) -> None:
    """Readers run while a writer adds and removes: every search sees either the old or the new index."""
    people = {f"E{i:03d}": unit(rng.standard_normal(DIM)) for i in range(50)}
    gallery = Gallery(threshold=0.6, margin=0.05)
    gallery.add_many(people)
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            for _ in range(300):
                if stop.is_set():
                    break
                match = gallery.search(people["E000"])
                assert match.employee_no == "E000" and match.accepted  # E000 is never removed
        except BaseException as exc:  # re-raised in the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    for i in range(1, 50):
        gallery.remove(f"E{i:03d}")
        gallery.add(f"E{i:03d}", people[f"E{i:03d}"])
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert len(gallery) == 50


def reference_match(templates: dict[str, np.ndarray], query: np.ndarray) -> tuple[str, float, float]:
    """Brute force: every person's best template score, then the best person and the best other one."""
    best = {person: float(np.max(rows @ query)) for person, rows in templates.items()}
    ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))
    runner_up = ranked[1][1] if len(ranked) > 1 else -1.0
    return ranked[0][0], ranked[0][1], runner_up


def test_search_equals_brute_force_with_many_templates_per_person(rng: np.random.Generator) -> None:
    """People with 1 to 60 templates, queries near one template of someone: best person, score and the best
    OTHER person's score must be exactly what a per-person maximum over every template gives."""
    templates = {}
    for i in range(40):
        count = int(rng.integers(1, 61))
        centre = unit(rng.standard_normal(DIM))
        templates[f"P{i:02d}"] = np.stack([near(centre, float(rng.uniform(0.7, 0.99)), rng) for _ in range(count)])
    gallery = Gallery(threshold=0.6, margin=0.05)
    gallery.add_many(templates)
    assert len(gallery) == sum(len(rows) for rows in templates.values())
    people = list(templates)
    for _ in range(200):
        owner = templates[people[int(rng.integers(len(people)))]]
        query = near(owner[int(rng.integers(len(owner)))], float(rng.uniform(0.3, 1.0)), rng)
        match = gallery.search(query)
        who, score, runner_up = reference_match(templates, query)
        assert match.employee_no == who
        assert match.score == pytest.approx(score, abs=1e-5)
        assert match.runner_up == pytest.approx(runner_up, abs=1e-5)
        assert match.accepted == (score >= 0.6 and score - runner_up >= 0.05)


def test_runner_up_found_when_the_best_person_holds_every_top_template(rng: np.random.Generator) -> None:
    """Alice's 200 templates all score above Bob's only one: the runner-up is still Bob's score, from far
    down the ranking, never one of Alice's own templates (which would fail every margin)."""
    alice = unit(rng.standard_normal(DIM))
    rows = np.stack([near(alice, float(c), rng) for c in np.linspace(0.8, 0.99, 200)])
    bob = near(alice, 0.5, rng)
    carol = near(alice, 0.3, rng)
    gallery = Gallery(threshold=0.6, margin=0.05)
    gallery.add_many({"alice": rows, "bob": bob, "carol": carol})
    match = gallery.search(alice)
    assert match.employee_no == "alice" and match.accepted
    assert match.score == pytest.approx(0.99, abs=1e-5)
    assert match.runner_up == pytest.approx(0.5, abs=1e-5)
    # The same with Alice's block in the middle of the matrix (people are sorted: "b..." < "bz" < "c...").
    gallery.replace("alice", np.zeros((1, DIM), np.float32) + unit(rng.standard_normal(DIM)))
    gallery.add("bz", rows)
    match = gallery.search(alice)
    assert match.employee_no == "bz" and match.runner_up == pytest.approx(0.5, abs=1e-5)


def test_two_people_tied_are_not_accepted(rng: np.random.Generator) -> None:
    alice = unit(rng.standard_normal(DIM))
    gallery = Gallery(threshold=0.6, margin=0.05)
    gallery.add_many({"alice": np.stack([alice, near(alice, 0.9, rng)]), "twin": alice.copy()})
    match = gallery.search(alice)
    assert match.score == pytest.approx(1.0, abs=1e-5) and match.runner_up == pytest.approx(1.0, abs=1e-5)
    assert not match.accepted


def test_verify_runner_up_is_the_best_other_person_with_many_templates(rng: np.random.Generator) -> None:
    alice = unit(rng.standard_normal(DIM))
    gallery = Gallery(threshold=0.6, margin=0.05)
    gallery.add_many({"alice": np.stack([near(alice, 0.95, rng) for _ in range(30)]),
                      "bob": np.stack([near(alice, c, rng) for c in (0.2, 0.4, 0.7)])})
    match = gallery.verify("alice", alice)
    assert match.runner_up == pytest.approx(0.7, abs=1e-5) and match.accepted
    claim_bob = gallery.verify("bob", alice)
    assert claim_bob.score == pytest.approx(0.7, abs=1e-5) and claim_bob.runner_up == pytest.approx(0.95, abs=1e-5)
    assert not claim_bob.accepted
