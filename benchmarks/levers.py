"""What a few changes would buy the reference CNN's speed on a CPU: measured options.

    python benchmarks/levers.py                   # writes benchmarks/results/<machine>/levers.json
    python benchmarks/levers.py --quick --out /tmp/levers   # a few steps: checks the harness

Variants of ``kc.models.cnn``'s shapes and of the batch size, on the current Keras backend with
its default ``jit_compile``. Each is compiled and warmed up once, then all are timed round-robin
in one process (one short epoch each per round, the order reversed every other round), so that
the load swings of a shared machine hit every variant alike. The figure is the median time per
training image, and its ratio to the reference (filters (32, 64), batches of 128) paired by
round. Speed only: what a change does to accuracy is the recipe's business
(``kc.models.CNN_RECIPE`` records what was tried), and the book's recipe stays as it is.
"""

from __future__ import annotations

import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import keras  # noqa: E402

import kerascool_lib as kc  # noqa: E402
from kerascool_lib import bench  # noqa: E402
from race import RESULTS, command_line, load_average, machine, machine_slug, write_result  # noqa: E402

REFERENCE = "the reference: filters (32, 64), dense 128, BatchNorm, batches of 128"
#: name -> (keyword arguments of kc.models.cnn, batch size)
VARIANTS = {
    REFERENCE: ({}, 128),
    "batches of 256": ({}, 256),
    "filters (32, 48)": ({"filters": (32, 48)}, 128),
    "filters (24, 48)": ({"filters": (24, 48)}, 128),
    "dense 64": ({"dense": 64}, 128),
    "no BatchNorm": ({"batch_norm": False}, 128),
}


def measure(images=5120, rounds=8, variants=VARIANTS, log=print) -> list[dict]:
    """Per round and variant: one epoch over ``images`` training images, timed by EpochClock."""
    data = kc.mnist_splits("image", train_size=images, val_size=0, test_size=100, seed=0)
    models = {}
    for name, (kwargs, batch) in variants.items():
        keras.utils.set_random_seed(0)
        model = kc.models.cnn(**kwargs)
        kc.models.CNN_RECIPE.compile(model, images, epochs=rounds + 1)  # jit_compile="auto"
        model.fit(data.x_train, data.y_train, batch_size=batch, epochs=1, verbose=0)  # trace and warm up
        models[name] = (model, batch)
    records = []
    for r in range(rounds):
        for name in list(models)[::1 if r % 2 == 0 else -1]:
            model, batch = models[name]
            clock = bench.EpochClock(data.x_test, data.y_test)
            model.fit(data.x_train, data.y_train, batch_size=batch, epochs=1, verbose=0, callbacks=[clock])
            epoch = clock.records[0]
            records.append({"round": r, "variant": name, "batch_size": batch, "images": images,
                            "image_seconds": epoch["train_seconds"] / images, "cpu_per_wall": epoch["cpu_per_wall"],
                            "forward_flops": bench.forward_flops(model), "params": model.count_params(),
                            "load": load_average()})
            log(f"round {r} {name:70} {1e6 * records[-1]['image_seconds']:7.1f} µs per image, "
                f"CPU s / wall s {epoch['cpu_per_wall']:.2f}")
    return records


def summarize(records: list[dict]) -> dict:
    """Median µs per image per variant, and its ratio to the reference paired by round."""
    base = {r["round"]: r["image_seconds"] for r in records if r["variant"] == REFERENCE}
    out = {}
    for name in dict.fromkeys(r["variant"] for r in records):
        mine = [r for r in records if r["variant"] == name]
        out[name] = {"median_image_us": 1e6 * statistics.median(r["image_seconds"] for r in mine),
                     "ratio_to_reference": statistics.median(r["image_seconds"] / base[r["round"]] for r in mine),
                     "forward_flops": mine[0]["forward_flops"], "params": mine[0]["params"],
                     "batch_size": mine[0]["batch_size"],
                     "cpu_per_wall": statistics.median(r["cpu_per_wall"] for r in mine)}
    return out


def main(argv=None) -> int:
    parser = command_line(__doc__, "a few steps, one round: checks the harness")
    args = parser.parse_args(argv)
    info = machine()
    out = pathlib.Path(args.out) if args.out else RESULTS / machine_slug(info["cpu"], info["cores"])
    images, rounds = (512, 1) if args.quick else (5120, 8)
    records = measure(images, rounds)
    info["load_average_end"] = load_average()
    result = {"machine": info, "settings": {"images": images, "rounds": rounds, "backend": keras.backend.backend()},
              "summary": summarize(records), "records": records}
    write_result(out, "levers.json", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
