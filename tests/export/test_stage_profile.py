"""Stage profile: the stages compose to the generator's frame, LiteRT matches."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import fomm_tf
from export import graphs, stage_profile
from export.benchmark import per_frame_flops
from export.spec import ExportSpec
from fomm_tf.inference.inference_transforms import optimize_for_inference
from tests.harness import run_module, save_tiny_model, tiny_config

STAGES = ["keypoints", "dense_motion", "warp", "bottleneck", "up_blocks", "final"]


@pytest.fixture(scope="module")
def tiny_models():
    keras.utils.set_random_seed(0)
    models = fomm_tf.build_models(tiny_config())
    optimize_for_inference(models)
    return models


def test_stages_compose_to_the_generators_frame(tiny_models):
    spec = ExportSpec.from_models(tiny_models)
    stages = stage_profile.stages(tiny_models, spec)
    assert [name for name, _, _ in stages] == STAGES
    # Each stage's inputs are the previous stages' outputs, so the last
    # stage's output is the frame the generator paints from the same inputs.
    _, final, final_inputs = stages[-1]
    _, dense_motion, motion_inputs = stages[1]
    kp_source = graphs.keypoint_dict(
        motion_inputs["source_value"], motion_inputs["source_jacobian"]
    )
    kp_driving = graphs.keypoint_dict(
        motion_inputs["driving_value"], motion_inputs["driving_jacobian"]
    )
    expected = tiny_models.generator(
        motion_inputs["source"], kp_source, kp_driving, training=False
    )["prediction"]
    np.testing.assert_allclose(
        final(*final_inputs.values()), expected, rtol=0, atol=1e-5
    )
    # With the source's encoding (cached by the commands, so not a stage, but
    # counted in export.benchmark's frame) the stages hold the frame's FLOPs;
    # the frame adds keypoint normalisation and the unused warped source.
    encode = tf.function(lambda image: tiny_models.generator.encode(image))
    stage_flops = sum(
        stage_profile.graph_flops(function.get_concrete_function())
        for _, function, _ in stages
    ) + stage_profile.graph_flops(encode.get_concrete_function(spec.image("s", 1)))
    frame_flops = per_frame_flops(
        tiny_models, spec, tf.constant(motion_inputs["source"])
    )
    assert 0.97 * frame_flops < stage_flops <= frame_flops


def test_litert_stages_match_keras(tiny_models):
    result = stage_profile.run(
        tiny_models, "random", ["float32", "dynamic_int8"], threads=1, quick=True
    )
    assert list(result["stages"]) == STAGES
    for name, row in result["stages"].items():
        assert row["keras_ms"] > 0 and row["gflop"] >= 0, name
        assert row["litert"]["float32"]["max_abs"] < 1e-4, name
        assert row["litert"]["dynamic_int8"]["ms"] > 0, name
    assert "sum" in stage_profile.table(result).splitlines()[-1]


@pytest.mark.slow
def test_command_writes_json_and_refuses_static_int8(tmp_path):
    config, checkpoint = save_tiny_model(tmp_path)
    out = tmp_path / "stages.json"
    args = ["--config", config, "--checkpoint", checkpoint, "--quick"]
    done = run_module("export.stage_profile", *args, "--json", out)
    assert done.returncode == 0, done.stderr[-2000:]
    assert list(json.loads(out.read_text())["stages"]) == STAGES
    refused = run_module("export.stage_profile", *args, "--modes", "static_int8")
    assert refused.returncode != 0
    assert "--modes" in refused.stderr and "static_int8" in refused.stderr
