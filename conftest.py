"""pytest at the repository root: notebooks and doctests run in the smoke profile.

Notebook kernels started by nbval and papermill inherit this environment.
"""

import os

os.environ.setdefault("KERASCOOL_PROFILE", "smoke")
