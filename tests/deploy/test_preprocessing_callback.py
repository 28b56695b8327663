"""PreprocessingCallback stores the data module's class names and preprocessing in checkpoints."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from cnnlstm._io import safe_torch_load
from cnnlstm.data import SyntheticVideoDataModule
from cnnlstm.training.preprocessing import CHECKPOINT_KEY, PreprocessingCallback, export_metadata

PREP = {"frame_size": [32, 32], "num_frames": 8, "sampling": "segments", "mean": [0.5] * 3, "std": [0.25] * 3}


class _Data(SyntheticVideoDataModule):
    """The synthetic clips, with a preprocessing record like the real data modules'."""

    def __init__(self, prep: Any = None, **kwargs: Any) -> None:
        super().__init__(
            num_classes=3, num_train=8, num_val=4, num_test=4, batch_size=4, progress=False, **kwargs
        )
        self.prep = PREP if prep is None else prep

    @property
    def class_names(self) -> list[str]:
        return ["a", "b", "c"]

    def preprocessing(self) -> dict[str, Any]:
        return self.prep


@pytest.mark.slow
def test_every_checkpoint_holds_class_names_and_preprocessing(tmp_path):
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import ModelCheckpoint

    from cnnlstm.tasks import ClassificationTask

    data = _Data()
    task = ClassificationTask(name="lrcn_tiny", num_classes=3, input_shape=[8, 3, 32, 32])
    trainer = pl.Trainer(
        max_epochs=1,
        limit_train_batches=1,
        limit_val_batches=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[
            PreprocessingCallback(),
            ModelCheckpoint(dirpath=tmp_path / "checkpoints", monitor="val/loss", save_last=True),
        ],
        default_root_dir=tmp_path,
    )
    trainer.fit(task, datamodule=data)
    written = sorted((tmp_path / "checkpoints").glob("*.ckpt"))
    assert len(written) == 2  # the best and last.ckpt
    for path in written:
        entry = safe_torch_load(path)[CHECKPOINT_KEY]  # weights_only: plain JSON values load
        assert entry == {"class_names": ["a", "b", "c"], "preprocessing": PREP}


def test_metadata_falls_back_to_the_tasks_class_names():
    class NoClasses:
        @property
        def class_names(self) -> list[str]:
            raise NotImplementedError

        def preprocessing(self) -> dict[str, Any]:
            return {}

    task = torch.nn.Module()
    task.hparams = {"class_names": ["x", "y"]}  # type: ignore[assignment]
    assert export_metadata(NoClasses(), task)["class_names"] == ["x", "y"]  # type: ignore[arg-type]
    task.hparams = {}  # type: ignore[assignment]
    assert export_metadata(NoClasses(), task) == {"class_names": None, "preprocessing": {}}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("prep", "match"),
    [([1, 2], "preprocessing\\(\\) must return a dict; received list"), ({"m": float("inf")}, "is not JSON")],
)
def test_metadata_refuses_what_json_cannot_hold(prep, match):
    data = _Data.__new__(_Data)  # no clips generated: only preprocessing() is called
    data.prep = prep
    task = torch.nn.Module()
    task.hparams = {}  # type: ignore[assignment]
    with pytest.raises((TypeError, ValueError), match=match):
        export_metadata(data, task)  # type: ignore[arg-type]
