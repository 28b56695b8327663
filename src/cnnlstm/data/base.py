"""The data layer's shared parts: one loader factory for every split, and an epoch-seeded sampler.

A concrete DataModule implements :meth:`~BaseDataModule.make_dataset` (and, to predict on other
data than the test split, :meth:`~BaseDataModule.make_predict_dataset`), or overrides ``setup``
where its splits need more; it reports ``num_classes`` and ``input_shape`` (one sample's shape,
e.g. ``(T, C, H, W)``), which the CLI passes to the task so the model is built to fit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from cnnlstm._validation import InputError, check_non_negative_int, check_positive_int

__all__ = ["BaseDataModule", "EpochSeededSampler", "check_fitted"]


def check_fitted(
    fitted: Any, *, kind: str, keys: Sequence[str], channels: Callable[[dict[str, Any]], int], what: str
) -> dict[str, Any]:
    """A trained model's ``preprocessing()`` given to a data module's ``fitted`` argument (what
    ``cnnlstm predict`` passes from the checkpoint): a dict of ``kind`` that holds ``keys`` and one
    ``mean`` and ``std`` per channel (``channels(fitted)`` of them). ``what`` names the model in errors.

    Example:
        >>> steps = {"kind": "toy", "mean": [0.0], "std": [1.0], "names": ["x"]}
        >>> check_fitted(steps, kind="toy", keys=["names"], channels=lambda f: len(f["names"]), what="a toy")["names"]
        ['x']
    """
    if not isinstance(fitted, dict) or fitted.get("kind") != kind:
        raise InputError(
            f"fitted must be the preprocessing of {what} (kind {kind!r}); received {str(fitted)[:80]}",
            field="fitted",
        )
    missing = [key for key in (*keys, "mean", "std") if key not in fitted]
    if missing:
        raise InputError(f"fitted lacks {missing}; give a checkpoint of {what}", field="fitted")
    count = channels(fitted)
    if not (len(fitted["mean"]) == len(fitted["std"]) == count > 0):
        raise InputError(
            f"fitted has {count} channels but {len(fitted['mean'])} means and {len(fitted['std'])} stds",
            field="fitted",
        )
    return dict(fitted)


class EpochSeededSampler(Sampler[int]):
    """Random order that depends only on ``(seed, epoch)``.

    Lightning calls :meth:`set_epoch` before each epoch, so a run resumed from a checkpoint sees
    exactly the batches an uninterrupted run would have seen (a plain ``RandomSampler`` draws from
    the global RNG, whose state a resumed process does not share).
    """

    def __init__(self, dataset: Dataset, *, seed: int = 0) -> None:
        self.num_samples = len(dataset)  # type: ignore[arg-type]
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter(torch.randperm(self.num_samples, generator=generator).tolist())

    def __len__(self) -> int:
        return self.num_samples


class BaseDataModule(pl.LightningDataModule):
    """Loaders for every split from one factory.

    Args:
        batch_size: samples per batch.
        num_workers: DataLoader worker processes (0 loads in the main process).
        seed: seed of the training order (see :class:`EpochSeededSampler`), an int >= 0.

    Example:
        >>> BaseDataModule(batch_size=8).batch_size
        8
    """

    def __init__(self, *, batch_size: int = 32, num_workers: int = 0, seed: int = 0) -> None:
        super().__init__()
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.num_workers = check_non_negative_int("num_workers", num_workers)
        self.seed = check_non_negative_int("seed", seed)
        self.train_dataset: Dataset | None = None
        self.val_dataset: Dataset | None = None
        self.test_dataset: Dataset | None = None
        self.predict_dataset: Dataset | None = None

    @property
    def num_classes(self) -> int:
        raise NotImplementedError

    @property
    def input_shape(self) -> list[int]:
        """One sample's input shape, e.g. ``[T, C, H, W]``."""
        raise NotImplementedError

    @property
    def class_names(self) -> list[str]:
        return [str(i) for i in range(self.num_classes)]

    def describe(self) -> dict[str, Any]:
        """What this data module resolved from its inputs, for ``data check`` and ``summary.json``.

        JSON-serialisable: e.g. the source (root or path), the classes and their counts per split,
        the channels and which columns were ignored, subjects per split, the augmentations in
        force. Called after ``setup``. The base reports the split sizes it knows.
        """
        sizes = {
            split: len(dataset)
            for split in ("train", "val", "test")
            if (dataset := getattr(self, f"{split}_dataset", None)) is not None
        }
        return {"data_module": type(self).__name__, "samples": sizes}

    def preprocessing(self) -> dict[str, Any]:
        """How a raw input becomes one model input, for an export to carry (JSON-serialisable).

        E.g. frames: size, number, sampling, mean/std; series: channel names and the
        normalisation statistics fitted on the training split. Called after ``setup``. Empty
        where nothing beyond the model's input shape is needed.
        """
        return {}

    def sample_keys(self, split: str) -> list[str] | None:
        """One identity string per sample of ``split`` (``"train"``, ``"val"``, ``"test"``), or None.

        Two samples with the same key are the same data (the same video file, the same rows of
        the same sensor file, the same window of the same frame sequence). Run folders keep
        digests of the training keys so that a later ``test`` can say whether it scores data the
        model was trained on. The base asks the split's dataset for ``sample_keys()``; None means
        the data cannot say (the overlap is then reported as not checked). Called after ``setup``.
        """
        dataset = getattr(self, f"{split}_dataset", None)
        keys = getattr(dataset, "sample_keys", None)
        return list(keys()) if callable(keys) else None

    def make_dataset(self, split: str) -> Dataset:
        """The ``"train"``, ``"val"`` or ``"test"`` dataset; used by the default :meth:`setup`."""
        raise NotImplementedError(f"{type(self).__name__} implements neither make_dataset nor setup")

    def make_predict_dataset(self) -> Dataset | None:
        """What ``predict`` reads; None (the default) predicts on the test split."""
        return None

    def setup(self, stage: str | None = None) -> None:
        """Build each split the stage needs, once."""
        if stage in (None, "fit") and self.train_dataset is None:
            self.train_dataset = self.make_dataset("train")
        if stage in (None, "fit", "validate") and self.val_dataset is None:
            self.val_dataset = self.make_dataset("val")
        if stage in (None, "test", "predict") and self.test_dataset is None:
            self.test_dataset = self.make_dataset("test")
        if stage in (None, "predict") and self.predict_dataset is None:
            predict = self.make_predict_dataset()
            self.predict_dataset = self.test_dataset if predict is None else predict

    def batch_collate(self) -> Callable[[list[Any]], Any] | None:
        """The loaders' ``collate_fn``; None (the default) is torch's default collate.

        Data of zero-padded series return :func:`~cnnlstm.data.padded_batches.collate_trimmed`,
        which cuts every batch to its longest series.
        """
        return None

    def _loader(self, split: str, *, shuffle: bool) -> DataLoader:
        dataset = getattr(self, f"{split}_dataset")
        if dataset is None:
            raise RuntimeError(f"{type(self).__name__} has no {split} data; was setup() called?")
        kwargs: dict[str, Any] = dict(
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )
        if shuffle:
            kwargs["sampler"] = EpochSeededSampler(dataset, seed=self.seed)
        collate = self.batch_collate()
        if collate is not None:
            kwargs["collate_fn"] = collate
        return DataLoader(dataset, **kwargs)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader("predict", shuffle=False)

    def example_input(self, batch_size: int = 2) -> torch.Tensor:
        """A zero batch of the data's input shape, for shape checks and export."""
        return torch.zeros(batch_size, *self.input_shape)
