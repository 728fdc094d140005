"""pytest at the repository root: notebooks and doctests run in the smoke profile, headless."""

import os

os.environ.setdefault("KERASCOOL_PROFILE", "smoke")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
