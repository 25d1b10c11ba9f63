"""Convergence: a tiny FOMM trained a few minutes on cartoon heads learns motion.

Seeded (clips, order, warps), so the figures below are reproducible on one
machine; ``python -m fomm_tf.benchmarks.convergence`` prints the same table.
What is asserted is the motion the model learns: the source warped by its
dense flow (the generator's ``deformed``) must predict held-out driving frames
better than copying the source. In 900 steps the tiny generator still redraws
the frame blurrily (its own prediction is about 1.6x no-motion then; the bundled
model, trained 9,900 steps, is scored by tests/test_bundled_model.py).

Recorded (2-core VM): warped source 0.74x no-motion after 900 steps; with the
generator's loss weights set to zero (perceptual 0, reconstruction 0) the
flow does not learn and the same check fails: 1.08x (see
fomm_tf/assets/TRAINING.md).

The figure is chaotic, not noisy: a run is bit-reproducible, yet changes
that leave every initial weight bit-identical move it. After 600 steps,
three ways of building the same models gave 0.68x, 0.72x and 0.93x. After
900 steps the test passed alone (0.85x or less) at bcb878b and gave 0.93x
inside the full suite at 9d6f30e, with no training change between them
(2026-12-02). So the margin separates learning from not learning
(1.08x), not good runs from bad ones.
"""

import pytest

from fomm_tf.benchmarks.convergence import ConvergenceRun, run

STEPS = 900
MARGIN = 0.97  # warped source L1 <= 0.97 x no-motion L1 (0.68-0.93 seen; 1.08 ablated)


@pytest.mark.slow
def test_tiny_model_learns_motion_that_beats_no_motion(tmp_path):
    results = run(ConvergenceRun(steps=STEPS, seed=0), tmp_path)
    assert results["steps"] == STEPS
    assert results["held_out_clips"] == 8
    assert results["warped_source_ratio"] <= MARGIN, results
