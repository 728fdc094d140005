"""The levers on the reference CNN's speed (benchmarks/levers.py) on a tiny slice."""

import json

import levers
import race


def test_the_variants_are_timed_round_robin_and_compared_with_the_reference():
    variants = {levers.REFERENCE: ({}, 128), "batches of 256": ({}, 256)}
    records = levers.measure(images=256, rounds=2, variants=variants, log=lambda line: None)
    assert [(r["round"], r["variant"]) for r in records] == [
        (0, levers.REFERENCE), (0, "batches of 256"), (1, "batches of 256"), (1, levers.REFERENCE)]
    summary = levers.summarize(records)
    assert summary[levers.REFERENCE]["ratio_to_reference"] == 1.0
    assert summary["batches of 256"]["batch_size"] == 256 and summary["batches of 256"]["median_image_us"] > 0
    assert summary[levers.REFERENCE]["forward_flops"] == summary["batches of 256"]["forward_flops"]


def test_the_summary_pairs_each_round_with_the_reference():
    records = [{"round": r, "variant": v, "image_seconds": s, "cpu_per_wall": 1.0, "forward_flops": 1, "params": 1,
                "batch_size": 128} for r, v, s in [(0, levers.REFERENCE, 2.0), (0, "b", 1.0), (1, levers.REFERENCE, 4.0),
                                                    (1, "b", 3.0), (2, levers.REFERENCE, 1.0), (2, "b", 0.9)]]
    assert levers.summarize(records)["b"]["ratio_to_reference"] == 0.75  # median of 0.5, 0.75, 0.9


def test_the_stored_results_are_what_their_records_give():
    for path in sorted(race.RESULTS.glob("*/levers.json")):
        result = json.loads(path.read_text())
        assert race.machine_slug(result["machine"]["cpu"], result["machine"]["cores"]) == path.parent.name
        assert json.loads(json.dumps(levers.summarize(result["records"]))) == result["summary"], path
