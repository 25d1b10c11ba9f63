"""Animation evaluation (official ``run.py --mode animate``):
``python -m fomm_tf.evaluate --mode animation`` under its documented name.

    python -m fomm_tf.animate_dataset --config configs/vox-256.yaml \\
        --checkpoint vox-cpk.pth.tar --dataset_root data/vox-png --result_dir log
"""

from fomm_tf import cli, evaluate

if __name__ == "__main__":
    evaluate.define_flags(mode="animation")
    cli.run(evaluate.main)
