"""A serving process settles its garbage collector once started (see api/serving.py)."""

import subprocess
import sys

PROBE = """
import gc
from api.serving import YOUNGEST_GENERATION, settle_after_start
before = gc.get_threshold()
settle_after_start()
print(gc.get_freeze_count() > 0, gc.get_threshold() == (YOUNGEST_GENERATION, *before[1:]), before[0] != YOUNGEST_GENERATION)
"""


def test_start_up_objects_are_frozen_and_the_youngest_generation_grows():
    # In a process of its own: the settings are process-wide and would outlive the test.
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.split() == ["True", "True", "True"]
