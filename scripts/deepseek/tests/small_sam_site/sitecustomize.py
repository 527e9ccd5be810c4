"""Tests only: put this folder on PYTHONPATH and the service builds mlx-vlm's SAM encoder as
small as the tiny test model's (tiny_mlx_model.small_sam), so a supervisor test can start the
real server.py on that model. The app never sets it."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

try:
    import mlx_vlm  # noqa: F401
except ImportError:  # a venv without mlx (the base one): nothing to shrink
    pass
else:
    from tiny_mlx_model import small_sam

    small_sam().__enter__()
