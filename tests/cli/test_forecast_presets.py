"""The Moving MNIST small preset's settings agree with each other (what the demo row relies on)."""

from __future__ import annotations

import yaml

from cnnlstm.cli import PRESET_DIR


def test_small_preset_is_one_pass_over_fresh_sequences_with_the_cosine_over_its_updates():
    config = yaml.safe_load((PRESET_DIR / "movingmnist-convlstm-small.yaml").read_text())
    trainer, data = config["trainer"], config["data"]["init_args"]
    # every update sees 16 sequences not seen before, and the step-wise cosine ends with the data
    assert trainer["max_epochs"] == 1
    assert data["num_train"] == trainer["max_steps"] * data["batch_size"]
    assert "precision" not in trainer  # float32 on any CPU; the demo adds bf16 where it is native
    model = config["model"]["init_args"]
    assert model["model_kwargs"]["output"] == "linear" and model["loss"] == "mse+l1"
