"""Speech recognition data: utterances → waveform batches bucketed by duration → log-mel features on device.

:class:`SpeechDataModule` reads any layout :func:`~cnnlstm.data.speech_corpora.find_corpus`
knows (manifests, LibriSpeech, Common Voice, Kaldi, audio files), or generates the spoken-digits
corpus (``generate`` set, see :mod:`cnnlstm.data.speech_synth`). Each utterance is checked once at
setup: an unreadable, empty, silent, transcript-less or too-short file (fewer output frames after
the model's time subsampling than its transcript needs under CTC) is listed in ``skipped`` with
the reason and left out; ``summary.json`` and ``cnnlstm data check`` report them.

Batches hold waveforms; the log-mel features are computed after the batch reaches its device
(:meth:`SpeechDataModule.on_after_batch_transfer`), normalised per utterance, and SpecAugmented in
training. A model receives ``(x, lengths)``: features ``(B, T, n_mels)`` and valid frames ``(B,)``.

The character vocabulary is built from the training transcripts; it is the data's ``class_names``
(the CTC blank first), which every checkpoint stores, so ``test`` and ``predict`` from a
checkpoint use the vocabulary the model was trained with.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

from cnnlstm._validation import (
    InputError,
    check_bool,
    check_choice,
    check_fraction,
    check_non_negative_int,
    check_positive_float,
    check_positive_int,
)
from cnnlstm.data.audio import AudioReadError, LogMel, SpecAugment, VoiceAugment, cmvn, num_frames, read_audio
from cnnlstm.data.base import BaseDataModule
from cnnlstm.data.speech_corpora import Corpus, Utterance, Vocabulary, find_corpus, normalize_text

__all__ = ["DurationBucketSampler", "SpeechDataModule", "SpeechDataset", "ctc_frames_needed"]


def _read_problem(path: Path, err: AudioReadError) -> str:
    """``"category: detail"`` for a file :func:`read_audio` refused (the entry names the file)."""
    if not path.is_file():
        return "missing audio: no such file"
    if path.stat().st_size == 0:
        return "empty file: 0 bytes"
    cause = err.__cause__
    detail = str(cause).strip().splitlines()[0] if cause is not None and str(cause).strip() else str(err)
    return f"cannot decode: {detail}"


SILENCE_PEAK = 1e-4  # a recording whose peak amplitude is below this is reported as silent


def ctc_frames_needed(ids: Sequence[int]) -> int:
    """Output frames CTC needs for a label sequence: its length plus one blank per repeated pair.

    Example:
        >>> ctc_frames_needed([1, 2, 2, 3])
        5
    """
    return len(ids) + sum(1 for a, b in zip(ids, ids[1:], strict=False) if a == b)


class SpeechDataset(Dataset):
    """Utterances as ``{"wave": (N,) float32, "ids": (S,) int64, "text": str, "path": str}``.

    ``waves`` (optional) holds the waveforms already read, by index; ``normalize`` turns a
    transcript into the vocabulary's characters (:func:`~cnnlstm.data.speech_corpora.normalize_text`).
    """

    def __init__(
        self,
        utterances: Sequence[Utterance],
        vocabulary: Vocabulary,
        *,
        sample_rate: int = 16000,
        waves: list[np.ndarray] | None = None,
        normalize: Any = normalize_text,
    ) -> None:
        self.utterances = list(utterances)
        self.normalize = normalize
        self.vocabulary = vocabulary
        self.sample_rate = sample_rate
        self.waves = waves

    def __len__(self) -> int:
        return len(self.utterances)

    def sample_path(self, index: int) -> str:
        return str(self.utterances[index].path)

    def duration(self, index: int) -> float:
        if self.waves is not None:
            return len(self.waves[index]) / self.sample_rate
        return self.utterances[index].duration or 0.0

    def __getitem__(self, index: int) -> dict[str, Any]:
        utterance = self.utterances[index]
        wave = (
            self.waves[index]
            if self.waves is not None
            else read_audio(utterance.path, sample_rate=self.sample_rate)
        )
        text = self.normalize(utterance.text) if utterance.text is not None else ""
        return {
            "wave": torch.from_numpy(np.asarray(wave, dtype=np.float32)),
            "ids": torch.tensor(self.vocabulary.encode(text), dtype=torch.long),
            "text": text,
            "path": str(utterance.path),
        }


def collate_speech(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Pad waveforms to ``(B, N_max)`` and labels to ``(B, S_max)``, with their lengths."""
    wave_lengths = torch.tensor([len(i["wave"]) for i in items], dtype=torch.long)
    target_lengths = torch.tensor([len(i["ids"]) for i in items], dtype=torch.long)
    waves = torch.zeros(len(items), int(wave_lengths.max()))
    targets = torch.zeros(len(items), max(1, int(target_lengths.max())), dtype=torch.long)
    for k, item in enumerate(items):
        waves[k, : len(item["wave"])] = item["wave"]
        targets[k, : len(item["ids"])] = item["ids"]
    return {
        "wave": waves,
        "wave_lengths": wave_lengths,
        "targets": targets,
        "target_lengths": target_lengths,
        "texts": [i["text"] for i in items],
        "paths": [i["path"] for i in items],
    }


class DurationBucketSampler(Sampler[list[int]]):
    """Batches of utterances of similar duration, in an order that depends only on ``(seed, epoch)``.

    Utterances are sorted by duration (with a seeded jitter of ±``jitter`` of a duration, so the
    batches differ from epoch to epoch), cut into batches of ``batch_size``, and the batches
    shuffled. Padding stays small; a resumed run sees the batches an uninterrupted one would.
    Without ``shuffle`` the batches follow the dataset's order.

    Example:
        >>> sampler = DurationBucketSampler([1.0, 5.0, 1.1, 5.2, 9.0], batch_size=2, seed=0)
        >>> sorted(sorted(b) for b in sampler)
        [[0, 2], [1, 3], [4]]
    """

    def __init__(
        self,
        durations: Sequence[float],
        *,
        batch_size: int,
        seed: int = 0,
        shuffle: bool = True,
        jitter: float = 0.05,
    ) -> None:
        self.durations = torch.tensor(list(durations), dtype=torch.float64)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.seed = int(seed)
        self.shuffle = bool(shuffle)
        self.jitter = float(jitter)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[list[int]]:
        count = len(self.durations)
        if not self.shuffle:
            order = torch.arange(count)
            yield from (order[i : i + self.batch_size].tolist() for i in range(0, count, self.batch_size))
            return
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        noise = 1 + self.jitter * (2 * torch.rand(count, generator=generator, dtype=torch.float64) - 1)
        order = torch.argsort(self.durations * noise)
        batches = [order[i : i + self.batch_size].tolist() for i in range(0, count, self.batch_size)]
        for k in torch.randperm(len(batches), generator=generator).tolist():
            yield batches[k]

    def __len__(self) -> int:
        return math.ceil(len(self.durations) / self.batch_size)


class SpeechDataModule(BaseDataModule):
    """Speech utterances with transcripts, for CTC recognisers.

    Args:
        root: a folder in one of the layouts of :mod:`cnnlstm.data.speech_corpora`, one audio file,
            or, with ``generate``, where the generated corpus is written.
        manifest: a JSON-lines manifest (val/test manifests beside it are found by name).
        generate: generate the spoken-digits corpus under ``root`` first:
            ``{"train": 1000, "val": 100, "test": 200, "test_heldout": 200, "seed": 0}`` (any of
            :func:`~cnnlstm.data.speech_synth.generate_corpus`'s arguments).
        test_split: the split ``test`` evaluates, e.g. ``"test_heldout"`` for a generated corpus's
            held-out voices (its manifest ``test_heldout.jsonl``).
        sample_rate: Hz the audio is resampled to.
        n_mels, win_ms, hop_ms: log-mel features (see :class:`~cnnlstm.data.audio.LogMel`).
        subsampling: the model's time subsampling (4 for the registered speech models); an
            utterance with fewer output frames than CTC needs for its transcript is skipped.
        max_duration: longer training utterances are skipped (seconds); validation, test and
            predict keep every length (a long recording is transcribed, and an evaluation scores
            every utterance).
        numbers: ``"words"`` writes numbers in transcripts as words (``"3"`` → ``"three"``, what
            the recogniser hears) or ``"keep"`` leaves digits as characters of the vocabulary.
        language: the transcripts' language for ``numbers="words"`` (a ``num2words`` code).
        val_fraction, test_fraction: shares of a single-set corpus held out (seeded).
        normalization: ``"utterance"`` (mean/variance of each utterance's own features, which needs
            the whole utterance) or ``"none"`` (raw log-mel, for streaming models, which normalise
            their input themselves with running statistics).
        spec_augment: SpecAugment's arguments in training (``{}``: its defaults; ``None``: off).
        voice_augment: :class:`~cnnlstm.data.audio.VoiceAugment`'s arguments in training (vocal-tract
            warp and band-limiting, before normalisation; ``{}``: its defaults; ``None``: off).
        cache_audio: keep the checked waveforms in memory (small corpora) instead of re-reading.
        timestamps: ``predict`` also writes each word's start and end time (from the CTC alignment).
        class_names: the vocabulary (blank first); set from a checkpoint for test/predict.
        batch_size, num_workers, seed: see :class:`~cnnlstm.data.base.BaseDataModule`.

    Example:
        >>> dm = SpeechDataModule(root=".", class_names=["<blank>", " ", "a"])
        >>> dm.num_classes, dm.input_shape
        (3, [100, 80])
    """

    def __init__(
        self,
        *,
        root: str | None = None,
        manifest: str | None = None,
        generate: dict[str, Any] | None = None,
        test_split: str = "test",
        sample_rate: int = 16000,
        n_mels: int = 80,
        win_ms: float = 25.0,
        hop_ms: float = 10.0,
        subsampling: int = 4,
        max_duration: float = 30.0,
        numbers: str = "words",
        language: str = "en",
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        normalization: str = "utterance",
        spec_augment: dict[str, Any] | None = None,
        voice_augment: dict[str, Any] | None = None,
        cache_audio: bool = True,
        timestamps: bool = False,
        class_names: list[str] | None = None,
        batch_size: int = 16,
        num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, seed=seed)
        if root is None and manifest is None:
            raise InputError("SpeechDataModule needs root (a folder or file) or manifest", field="root")
        self.root = root
        self.manifest = manifest
        self.generate = dict(generate) if generate else None
        self.test_split = str(test_split)
        self.sample_rate = check_positive_int("sample_rate", sample_rate)
        self.subsampling = check_positive_int("subsampling", subsampling)
        self.max_duration = check_positive_float("max_duration", max_duration)
        self.numbers = check_choice("numbers", numbers, ("words", "keep"))
        self.language = str(language)
        self.val_fraction = check_fraction("val_fraction", val_fraction)
        self.test_fraction = check_fraction("test_fraction", test_fraction)
        self.cache_audio = check_bool("cache_audio", cache_audio)
        self.timestamps = check_bool("timestamps", timestamps)
        self.normalization = check_choice("normalization", normalization, ("utterance", "none"))
        self.features = LogMel(sample_rate=sample_rate, n_mels=n_mels, win_ms=win_ms, hop_ms=hop_ms)
        self.spec_augment = None if spec_augment is None else SpecAugment(**spec_augment)
        self.voice_augment = None if voice_augment is None else VoiceAugment(**voice_augment)
        self._vocabulary = Vocabulary(class_names) if class_names else None
        self._corpus: Corpus | None = None
        self._splits: dict[str, list[Utterance]] | None = None
        self.val_from_train = 0  # utterances held out of train as val (a corpus without a val split)
        self.skipped: list[dict[str, str]] = []
        self.outside_vocabulary: list[dict[str, str]] = []  # kept, scored, and reported
        check_non_negative_int("n_mels", n_mels)

    # -- what the model is built from -------------------------------------------------------------
    @property
    def vocabulary(self) -> Vocabulary:
        if self._vocabulary is None:
            train = self.splits().get("train", [])
            texts = [self.normalize(u.text) for u in train if u.text]
            if not texts and self._corpus is not None and self._corpus.layout == "audio_files":
                raise self._audio_only_error()
            if not texts:
                raise InputError(
                    "no training transcripts to build the character vocabulary from; give a corpus with a "
                    "train split, or --data.class_names (a checkpoint's vocabulary)",
                    field="root",
                )
            self._vocabulary = Vocabulary.build(texts)
        return self._vocabulary

    @property
    def num_classes(self) -> int:
        """The CTC outputs: the characters plus the blank."""
        return len(self.vocabulary)

    @property
    def class_names(self) -> list[str]:
        return list(self.vocabulary.tokens)

    @property
    def input_shape(self) -> list[int]:
        """A nominal utterance's features: one second, ``[T, n_mels]`` (utterances vary in T)."""
        return [int(num_frames(self.sample_rate, self.features.hop_length)) - 1, self.features.n_mels]

    def normalize(self, text: str) -> str:
        """A transcript as the vocabulary's characters (``numbers`` and ``language`` applied)."""
        return normalize_text(text, numbers=self.numbers, language=self.language)

    # -- the corpus ----------------------------------------------------------------------------------
    def _resolve_root(self) -> Path | None:
        if self.generate is not None:
            from cnnlstm.data.speech_synth import generate_corpus

            if self.root is None:
                raise InputError("generate needs root, the folder to write the corpus to", field="root")
            generate_corpus(self.root, **self.generate)
        return Path(self.root) if self.root is not None else None

    def splits(self) -> dict[str, list[Utterance]]:
        """The utterances of ``train``, ``val``, ``test`` (and any other split the corpus names)."""
        if self._splits is not None:
            return self._splits
        root = self._resolve_root()
        corpus = find_corpus(root, self.manifest)
        self._corpus = corpus
        self.skipped.extend(corpus.problems)
        splits = dict(corpus.splits)
        if "all" in splits:
            pool = splits.pop("all")
            generator = torch.Generator().manual_seed(self.seed)
            order = torch.randperm(len(pool), generator=generator).tolist()
            n_val = int(round(self.val_fraction * len(pool))) if "val" not in splits else 0
            n_test = int(round(self.test_fraction * len(pool))) if "test" not in splits else 0
            if corpus.layout == "audio_files" or all(u.text is None for u in pool):
                splits.setdefault("predict", pool)
            else:
                splits.setdefault("val", [pool[i] for i in order[:n_val]])
                splits.setdefault("test", [pool[i] for i in order[n_val : n_val + n_test]])
                splits.setdefault("train", [pool[i] for i in order[n_val + n_test :]])
        if "train" in splits and "val" not in splits and self.val_fraction > 0:
            # e.g. LibriSpeech train-* and test-* without dev-*: hold out part of train (seeded)
            train = splits["train"]
            order = torch.randperm(len(train), generator=torch.Generator().manual_seed(self.seed)).tolist()
            n_val = max(1, int(round(self.val_fraction * len(train)))) if len(train) > 1 else 0
            splits["val"] = [train[i] for i in order[:n_val]]
            splits["train"] = [train[i] for i in order[n_val:]]
            self.val_from_train = n_val
        self._splits = splits
        return splits

    def _audio_only_error(self) -> InputError:
        return InputError(
            f"{self.root!r} holds audio files without transcripts: transcribe them with "
            "`cnnlstm predict --ckpt_path ...` (the checkpoint brings the vocabulary), or give "
            "a corpus with transcripts to train or test on",
            field="root",
        )

    def _checked(self, split: str, *, need_text: bool = True) -> SpeechDataset:
        """The usable utterances of ``split``; the others go to ``skipped`` with the reason."""
        utterances = self.splits().get(split)
        if utterances is None and self._corpus is not None and self._corpus.layout == "audio_files":
            raise self._audio_only_error()
        if utterances is None:
            names = ", ".join(sorted(self.splits())) or "none"
            raise InputError(f"the corpus has no {split!r} split (it has: {names})", field="root")
        vocabulary = self.vocabulary
        kept, waves = [], []
        for utterance in utterances:
            reason, wave = self._problem(utterance, vocabulary, split=split, need_text=need_text)
            if reason is not None:
                self.skipped.append({"split": split, "path": str(utterance.path), "reason": reason})
                continue
            kept.append(utterance)
            waves.append(wave)
        if not kept:
            raise InputError(
                f"no usable utterance in the {split!r} split ({len(utterances)} skipped)", field="root"
            )
        return SpeechDataset(
            kept,
            vocabulary,
            sample_rate=self.sample_rate,
            waves=waves if self.cache_audio else None,
            normalize=self.normalize,
        )

    def _problem(
        self, utterance: Utterance, vocabulary: Vocabulary, *, split: str, need_text: bool
    ) -> tuple[str | None, Any]:
        """Why ``utterance`` cannot be used (``"category: detail"``), or None and its waveform.

        A transcript with characters the vocabulary lacks is kept (an evaluation scores what the
        model cannot spell as errors) and listed in ``outside_vocabulary``.
        """
        if need_text and (utterance.text is None or not self.normalize(utterance.text)):
            return "no transcript: empty or absent in the corpus", None
        try:
            wave = read_audio(utterance.path, sample_rate=self.sample_rate)
        except AudioReadError as err:
            return _read_problem(utterance.path, err), None
        if wave.size == 0:
            return "empty audio: no samples", None
        if float(np.abs(wave).max()) < SILENCE_PEAK:
            return f"silent audio: peak below {SILENCE_PEAK}", None
        seconds = wave.size / self.sample_rate
        if split == "train" and seconds > self.max_duration:
            return f"longer than max_duration: {seconds:.1f} s > {self.max_duration} s", None
        if need_text and utterance.text is not None:
            text = self.normalize(utterance.text)
            unknown = vocabulary.unknown(text)
            if unknown:
                self.outside_vocabulary.append(
                    {"split": split, "path": str(utterance.path), "characters": "".join(sorted(unknown))}
                )
            needed = ctc_frames_needed(vocabulary.encode(text))
            frames = math.ceil(int(num_frames(wave.size, self.features.hop_length)) / self.subsampling)
            if frames < needed:
                return f"too short for its transcript: {frames} output frames, CTC needs {needed}", None
        return None, wave

    def make_dataset(self, split: str) -> Dataset:
        name = self.test_split if split == "test" else split
        return self._checked(name)

    @property
    def predict_split(self) -> str:
        """The split ``predict`` reads: ``"predict"`` (a folder of audio) or the test split."""
        return "predict" if "predict" in self.splits() else self.test_split

    def setup(self, stage: str | None = None) -> None:
        splits = self.splits()
        if "predict" in splits and stage == "predict":
            if self.predict_dataset is None:
                self.predict_dataset = self._checked("predict", need_text=False)
            return
        if stage == "predict" and self.test_split not in splits:
            return
        super().setup(stage)

    # -- loaders and features ----------------------------------------------------------------------
    def _loader(self, split: str, *, shuffle: bool) -> DataLoader:
        dataset = getattr(self, f"{split}_dataset")
        if dataset is None:
            raise RuntimeError(f"{type(self).__name__} has no {split} data; was setup() called?")
        loader: dict[str, Any] = dict(
            collate_fn=collate_speech, num_workers=self.num_workers, persistent_workers=self.num_workers > 0
        )
        if not shuffle:  # evaluation and prediction: the dataset's order
            return DataLoader(dataset, batch_size=self.batch_size, **loader)
        durations = [dataset.duration(i) for i in range(len(dataset))]
        sampler = DurationBucketSampler(durations, batch_size=self.batch_size, seed=self.seed)
        return DataLoader(dataset, batch_sampler=sampler, **loader)

    def featurize(
        self, wave: Tensor, wave_lengths: Tensor, *, augment: bool = False
    ) -> tuple[Tensor, Tensor]:
        """Waveforms ``(B, N)`` and their lengths → normalised log-mel ``(B, T, n_mels)`` and frames ``(B,)``."""
        features = self.features.to(wave.device)
        x = features(wave)
        lengths = torch.clamp(num_frames(wave_lengths.to(wave.device), features.hop_length), max=x.shape[1])
        if augment and self.voice_augment is not None:
            x = self.voice_augment.train()(x, lengths)
        if self.normalization == "utterance":
            x = cmvn(x, lengths)
        if augment and self.spec_augment is not None:
            x = self.spec_augment.train()(x, lengths)
        return x, lengths

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        if not isinstance(batch, dict) or "wave" not in batch:
            return batch
        trainer = getattr(self, "trainer", None)
        augment = bool(trainer is not None and trainer.training)
        x, lengths = self.featurize(batch["wave"], batch["wave_lengths"], augment=augment)
        out = {k: v for k, v in batch.items() if k not in ("wave", "wave_lengths")}
        out.update(x=x, lengths=lengths)
        if self.timestamps:
            out["frame_seconds"] = self.features.hop_length / self.sample_rate
        return out

    def example_input(self, batch_size: int = 2) -> Tensor:
        return torch.zeros(batch_size, *self.input_shape)

    # -- reports -------------------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        def hours(dataset: Any) -> float:
            return round(sum(dataset.duration(i) for i in range(len(dataset))) / 3600, 4)

        sizes, durations = {}, {}
        for split in ("train", "val", "test", "predict"):
            dataset = getattr(self, f"{split}_dataset", None)
            if dataset is not None:
                sizes[split] = len(dataset)
                durations[split] = hours(dataset)
        reasons: dict[str, int] = {}
        for item in self.skipped:
            key = item["reason"].split(":")[0]
            reasons[key] = reasons.get(key, 0) + 1
        outside: dict[str, dict[str, Any]] = {}
        for item in self.outside_vocabulary:
            entry = outside.setdefault(item["split"], {"utterances": 0, "characters": ""})
            entry["utterances"] += 1
            entry["characters"] = "".join(sorted(set(entry["characters"]) | set(item["characters"])))
        return {
            "data_module": type(self).__name__,
            "layout": self._corpus.layout if self._corpus else None,
            "source": str(self.manifest or self.root),
            "samples": sizes,
            "hours": durations,
            "test_split": self.test_split,
            "vocabulary": "".join(self.vocabulary.tokens[1:]),
            "skipped_by_reason": reasons,
            "outside_vocabulary": outside,
            "val_held_out_from_train": self.val_from_train,
            "numbers": self.numbers,
            "language": self.language,
            "spec_augment": self.spec_augment is not None,
            "voice_augment": self.voice_augment is not None,
        }

    def preprocessing(self) -> dict[str, Any]:
        """What turns audio into model input: rate, features, normalisation, and the vocabulary."""
        return {
            "kind": "speech",
            "sample_rate": self.sample_rate,
            "n_mels": self.features.n_mels,
            "win_length": self.features.win_length,
            "hop_length": self.features.hop_length,
            "normalization": self.normalization,
            "subsampling": self.subsampling,
            "numbers": self.numbers,
            "language": self.language,
            "vocabulary": list(self.vocabulary.tokens),
        }
