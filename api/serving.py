"""Getting a serving process ready: what every request needs loaded, then the garbage
collector settled around it (in that order: what is frozen must be loaded first).

A full collection walks every live object the collector tracks, and every request in flight
waits for it: in a worker holding the app, the processes' specs, the segmenter and a cache of
live workflows, one took 100-190 ms, a few times per thousand requests, which is what p99
latency measured. So once start-up is done, what it loaded is frozen out of the collector's
way (`gc.freeze`: it lives as long as the process anyway), and the youngest generation may grow
to 10,000 objects before a collection, which makes the older generations' collections rarer
(none in 1,200 mixed requests, against three or four full ones with the defaults).
"""

from __future__ import annotations

import gc

from workflows.text.segment import warm_up

YOUNGEST_GENERATION = 10_000  # objects allocated before a collection; Python's default is 700


def prepare_to_serve() -> None:
    """For `wsgi.py` (each gunicorn worker) and `minyi serve`, before the first request."""
    warm_up()  # the segmentation dictionary: a second or more, not the first citizen's
    settle_after_start()


def settle_after_start() -> None:
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNGEST_GENERATION, middle, oldest)
