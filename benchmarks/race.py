"""The race of the Benchmarks appendix: `make bench` runs it and stores benchmarks/results/<machine>/.

    python benchmarks/race.py                      # the stored run (10-25 minutes on 2 cores)
    python benchmarks/race.py --quick --out DIR    # a tiny slice in seconds: checks the harness
    python benchmarks/race.py --help

The code lives in kerascool_lib/_race.py, so the appendix chapter can run it on Colab too.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from kerascool_lib import _race  # noqa: E402

if __name__ == "__main__":
    sys.exit(_race.main())
