"""scikit-learn classifiers for time series: the sensor/time-series models behind ``fit``/``predict``.

Each estimator trains the library's :class:`~cnnlstm.tasks.ClassificationTask` with a Lightning
``Trainer`` on :class:`~cnnlstm.data.series_arrays.SeriesArrayDataModule` — the same task, models,
normalisation and optimiser as ``cnnlstm fit``, no second training loop — so it works inside
scikit-learn's ``cross_val_score``, ``GridSearchCV`` and ``Pipeline``, and beside sktime/aeon
classifiers.

``X`` is, as in sktime and aeon:

* a numpy array ``(n_cases, n_channels, n_timepoints)``;
* a 2-D array ``(n_cases, n_timepoints)``: univariate series;
* a panel whose series may differ in length: sktime's ``nested_univ`` DataFrame (one column per
  channel, one ``pd.Series`` per cell), ``pd-multiindex`` DataFrame (rows indexed by case and time
  point, one column per channel) or ``df-list`` (one ``(n_timepoints_i, n_channels)`` DataFrame
  per case), or a list of ``(n_channels, n_timepoints_i)`` arrays (aeon's form for unequal
  lengths) or of ``(n_timepoints_i,)`` arrays (univariate). Shorter series are zero-padded at the
  end and the models are told their real lengths.

``y`` holds labels of any type (strings, integers...); :attr:`classes_` keeps them, sorted.

Training follows the recipe of the ``ucr-*`` presets (docs/results.md): all of ``X`` trains (no
validation split), for a fixed budget of ``max_steps`` (4500) updates under a cosine schedule,
whatever the number of cases, in bf16 autocast where the hardware computes bf16 natively; the final
weights are kept. One default differs: the presets (``normalize: auto``) z-normalise each univariate
series over its own steps, which suits the archive (series whose scale varies from case to case, as
PLAID's) but throws away each case's level and scale, which can be the very thing that tells classes
apart in other data (as in scikit-learn's own checks); the estimators standardise each channel with
the training set's statistics unless given ``normalize="auto"`` (the presets' rule) or
``"series"``. Nothing is printed unless ``verbose``; with an integer ``random_state`` two fits on a
CPU give the same weights.

An ensemble of seeds (InceptionTime is one of five networks) is scikit-learn's soft vote, which
averages the members' probabilities: ``VotingClassifier([(f"seed{s}", LSTMFCNClassifier(
random_state=s)) for s in range(5)], voting="soft")``.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 2, 24)) + np.repeat([0.0, 1.5], 10)[:, None, None]
    >>> y = np.repeat(["calm", "busy"], 10)
    >>> clf = TimeSeriesClassifier(model="lstm_fcn_tiny", max_steps=30, random_state=0).fit(X, y)
    >>> clf.classes_.tolist(), clf.predict_proba(X[:3]).shape
    (['busy', 'calm'], (3, 2))
    >>> clf.score(X, y) > 0.9
    True
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import warnings
from collections.abc import Iterator
from typing import Any, cast

import numpy as np
import torch

try:
    from sklearn.base import BaseEstimator, ClassifierMixin
except ImportError as err:  # pragma: no cover - the extra is installed in the test environment
    raise ImportError(
        'cnnlstm.sklearn needs scikit-learn; install it with: pip install "cnnlstm[timeseries]"'
    ) from err
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import assert_all_finite, check_is_fitted, column_or_1d, validate_data

from cnnlstm._validation import (
    check_choice,
    check_non_negative_float,
    check_positive_float,
    check_positive_int,
)
from cnnlstm.data.series_arrays import SeriesArrayDataModule
from cnnlstm.data.series_normalization import check_normalization, resolve_normalization, standardize
from cnnlstm.models import list_models, model_info
from cnnlstm.tasks import ClassificationTask
from cnnlstm.training.trainer import PRECISIONS, Trainer

__all__ = [
    "CNNBiLSTMClassifier",
    "DeepConvLSTMClassifier",
    "LSTMFCNClassifier",
    "MLSTMFCNClassifier",
    "TimeSeriesClassifier",
    "to_series_array",
]

_PREDICT_BATCH = 256


def _is_nested(X: Any) -> bool:
    """True for sktime's ``nested_univ`` DataFrame (a series in each cell)."""
    import pandas as pd

    if not isinstance(X, pd.DataFrame) or X.shape[0] == 0 or X.shape[1] == 0:
        return False
    return isinstance(X.iat[0, 0], (pd.Series, np.ndarray, list))


def _is_multiindex(X: Any) -> bool:
    """True for sktime's ``pd-multiindex`` DataFrame: rows indexed by (case, time point)."""
    import pandas as pd

    return isinstance(X, pd.DataFrame) and isinstance(X.index, pd.MultiIndex) and X.index.nlevels >= 2


def _is_case_list(X: Any) -> bool:
    """True for a list of cases: ``(n_channels, n_timepoints_i)`` arrays (aeon's unequal-length
    form), ``(n_timepoints_i,)`` arrays (univariate), or ``(n_timepoints_i, n_channels)``
    DataFrames (sktime's ``df-list``)."""
    import pandas as pd

    if not isinstance(X, (list, tuple)) or len(X) == 0:
        return False
    return all(isinstance(case, np.ndarray) and case.ndim in (1, 2) for case in X) or all(
        isinstance(case, pd.DataFrame) for case in X
    )


def _is_panel(X: Any) -> bool:
    """True for the sktime/aeon panel forms that :func:`to_series_array` converts."""
    return _is_nested(X) or _is_multiindex(X) or _is_case_list(X)


def _steps_first(case: np.ndarray) -> np.ndarray:
    """An aeon case ``(C, T_i)`` or a univariate ``(T_i,)`` one as ``(T_i, C)`` float64."""
    values = np.asarray(case, dtype=np.float64)
    return values[:, None] if values.ndim == 1 else values.T


def _cases_of(X: Any) -> list[np.ndarray]:
    """The cases of a panel (see :func:`to_series_array`) as ``(T_i, C)`` float64 arrays."""
    if _is_multiindex(X):  # sktime's pd-multiindex: the first index level names the case
        return [group.to_numpy(dtype=np.float64) for _, group in X.groupby(level=0, sort=False)]
    if _is_case_list(X):
        if not isinstance(X[0], np.ndarray):  # sktime's df-list: one (T_i, C) DataFrame per case
            return [case.to_numpy(dtype=np.float64) for case in X]
        return [_steps_first(case) for case in X]
    cases = []
    for i, row in enumerate(X.to_numpy()):  # sktime's nested_univ: a series per channel and case
        channels = [np.asarray(cell, dtype=np.float64).ravel() for cell in row]
        if len({len(ch) for ch in channels}) != 1:
            raise ValueError(
                f"case {i} has channels of different lengths {sorted({len(c) for c in channels})}"
            )
        cases.append(np.stack(channels, axis=1))
    return cases


def to_series_array(X: Any) -> tuple[np.ndarray, np.ndarray]:
    """A panel of series whose cases may differ in length, as ``(x (N, T_max, C), lengths (N,))``,
    zero-padded at the end.

    The panel is sktime's ``nested_univ`` DataFrame (a ``pd.Series`` per channel and case), its
    ``pd-multiindex`` DataFrame (rows indexed by case and time point, a column per channel) or
    ``df-list`` (a ``(T_i, C)`` DataFrame per case), or a list of ``(C, T_i)`` arrays (aeon) or of
    ``(T_i,)`` arrays (univariate).

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"dim_0": [pd.Series([1.0, 2.0, 3.0]), pd.Series([4.0, 5.0])]})
        >>> x, lengths = to_series_array(frame)
        >>> x[:, :, 0].tolist(), lengths.tolist()
        ([[1.0, 2.0, 3.0], [4.0, 5.0, 0.0]], [3, 2])
        >>> to_series_array([np.ones((2, 3)), np.ones((2, 1))])[1].tolist()
        [3, 1]
        >>> index = pd.MultiIndex.from_tuples([(0, 0), (0, 1), (1, 0)], names=["case", "t"])
        >>> to_series_array(pd.DataFrame({"a": [1.0, 2.0, 3.0]}, index=index))[0][:, :, 0].tolist()
        [[1.0, 2.0], [3.0, 0.0]]
    """
    cases = _cases_of(X)
    counts = sorted({case.shape[1] for case in cases})
    if len(counts) > 1:
        raise ValueError(f"X's cases differ in channel count: {counts}")
    lengths = np.asarray([len(c) for c in cases], dtype=np.int64)
    if len(cases) == 0 or lengths.min() == 0:
        raise ValueError("X holds an empty case or no cases; every case needs at least one time step")
    x = np.zeros((len(cases), int(lengths.max()), cases[0].shape[1]))
    for i, case in enumerate(cases):
        x[i, : len(case)] = case
    if not np.isfinite(x).all():
        raise ValueError("Input X contains NaN or infinity; fill or drop those values first")
    return x, lengths


@contextlib.contextmanager
def _quiet(verbose: bool) -> Iterator[None]:
    """Lightning's start-up lines and advice off, unless ``verbose``."""
    if verbose:
        yield
        return
    loggers = [logging.getLogger(n) for n in ("lightning.pytorch", "lightning.fabric", "lightning")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            # Advice that does not apply to in-memory arrays of a few hundred series.
            warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
            warnings.filterwarnings("ignore", message=r".*smaller than the logging interval.*")
            # Lightning 2.6's own use of a torch pytree API that torch 2.13 deprecates; not ours.
            warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


class _SeriesNetworkClassifier(ClassifierMixin, BaseEstimator):
    """What every estimator of this module shares; subclasses say which registered model trains.

    Args:
        model_kwargs: the model's constructor arguments (``cnnlstm models --info NAME``), e.g.
            ``{"lstm_hidden": 64}``; the channel count and length come from ``X``.
        max_steps: optimiser updates (batches) of training, whatever the number of cases.
        batch_size: cases per update (at most the number of cases).
        lr: AdamW learning rate (cosine schedule to 0 over ``max_steps``).
        weight_decay: AdamW weight decay.
        normalize: standardise each channel with the mean and std of the training series (True
            or ``"channel"``, the default), z-normalise each series and channel over its own steps
            (``"series"``), ``"auto"`` (series for univariate data, channel for multivariate, as
            the ``ucr-*`` presets), or neither (False or ``"none"``).
        random_state: seed of the initialisation, the batch order and dropout (None: drawn from
            numpy's global generator, as scikit-learn does).
        verbose: show Lightning's progress bar and messages.
        accelerator: Lightning's accelerator (``"cpu"``, ``"gpu"``, ``"auto"``).
        precision: Lightning's training precision, or ``"auto"``: bf16 autocast where the hardware
            computes bf16 natively, float32 elsewhere (:class:`~cnnlstm.training.trainer.Trainer`).
            Prediction runs in float32.
    """

    _model_name = ""
    _model_defaults: dict[str, Any] = {}  # the ucr-* preset's model_kwargs for this model

    def __init__(
        self,
        *,
        model_kwargs: dict[str, Any] | None = None,
        max_steps: int = 4500,
        batch_size: int = 16,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        normalize: bool | str = True,
        random_state: int | np.random.RandomState | None = None,
        verbose: bool = False,
        accelerator: str = "cpu",
        precision: str = "auto",
    ) -> None:
        self.model_kwargs = model_kwargs
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.normalize = normalize
        self.random_state = random_state
        self.verbose = verbose
        self.accelerator = accelerator
        self.precision = precision

    # -- scikit-learn's description ---------------------------------------------------------------
    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

    @property
    def model_name(self) -> str:
        """The registered model this estimator trains."""
        return self._model_name

    # -- input -------------------------------------------------------------------------------------
    def _series(self, X: Any, *, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        """``X`` as ``(x (N, T, C) float64, lengths (N,))``; records or checks the channel count."""
        if _is_panel(X):
            x, lengths = to_series_array(X)
            if reset:
                self.n_features_in_ = x.shape[2]
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
            elif x.shape[2] != self.n_features_in_:
                raise ValueError(
                    f"X has {x.shape[2]} channels, but {type(self).__name__} was fitted on {self.n_features_in_}"
                )
        else:
            arr = validate_data(self, X, reset=reset, allow_nd=True, dtype=np.float64)
            if arr.ndim == 2:
                arr = arr[:, None, :]  # (N, T) univariate -> (N, 1, T)
            if arr.ndim != 3:
                raise ValueError(
                    f"X must be (n_cases, n_channels, n_timepoints) or (n_cases, n_timepoints); received "
                    f"shape {arr.shape}"
                )
            x = np.ascontiguousarray(arr.transpose(0, 2, 1))  # (N, C, T) -> (N, T, C)
            lengths = np.full(len(x), x.shape[1], dtype=np.int64)
        if not reset:
            if x.shape[1] > self.series_length_ or (
                not self.variable_length_ and x.shape[1] != self.series_length_
            ):
                raise ValueError(
                    f"X has series of {x.shape[1]} time points, but {type(self).__name__} was fitted on "
                    f"{self.series_length_}; resample the series to that length"
                )
            if x.shape[1] < self.series_length_:
                x = np.concatenate(
                    [x, np.zeros((len(x), self.series_length_ - x.shape[1], x.shape[2]))], axis=1
                )
        return x, lengths

    def _check_params(self) -> None:
        check_positive_int("max_steps", self.max_steps)
        check_positive_int("batch_size", self.batch_size)
        check_positive_float("lr", self.lr)
        check_non_negative_float("weight_decay", self.weight_decay)
        check_normalization(self.normalize)
        check_choice("precision", self.precision, PRECISIONS)
        if self.model_name not in list_models() or model_info(self.model_name).modality != "sensor":
            sensor = list_models(task="classification")
            raise ValueError(
                f"model must be a registered time-series classifier; received {self.model_name!r} "
                f"(choose from {[m for m in sensor if model_info(m).modality == 'sensor']})"
            )

    # -- training ----------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> _SeriesNetworkClassifier:
        """Train a new network on ``X`` and labels ``y`` (see the module doc for their forms)."""
        self._check_params()
        x, lengths = self._series(X, reset=True)
        y = column_or_1d(y, warn=True)
        if y.dtype.kind in "fc":
            assert_all_finite(y, input_name="y")
        if len(y) != len(x):
            raise ValueError(f"X has {len(x)} cases but y has {len(y)} labels")
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes to train; y holds 1 class ({self.classes_[0]!r})"
            )
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        task, data = self._build(x, lengths, encoded, seed)
        min_steps = int(getattr(task.model, "min_steps", 1))
        if x.shape[1] < min_steps:  # shorter than the model's receptive field: pad, lengths say where
            x = np.concatenate([x, np.zeros((len(x), min_steps - x.shape[1], x.shape[2]))], axis=1)
            task, data = self._build(x, lengths, encoded, seed)
        self.series_length_ = int(x.shape[1])
        self.variable_length_ = bool((lengths != x.shape[1]).any())
        self.channel_mean_, self.channel_std_ = data.mean, data.std
        with _quiet(self.verbose), torch.random.fork_rng(devices=[]), tempfile.TemporaryDirectory() as root:
            torch.manual_seed(seed + 1)  # dropout
            trainer = Trainer(
                max_steps=self.max_steps,
                precision=cast(Any, self.precision),  # one of PRECISIONS: checked in fit
                max_epochs=-1,
                limit_val_batches=0,
                num_sanity_val_steps=0,
                logger=False,
                enable_checkpointing=False,
                enable_progress_bar=bool(self.verbose),
                enable_model_summary=bool(self.verbose),
                accelerator=self.accelerator,
                devices=1,
                default_root_dir=root,
            )
            trainer.fit(task, datamodule=data)
        task.trainer = None  # the trainer is not part of the fitted state
        self.task_ = task.cpu().eval()
        return self

    def _build(
        self, x: np.ndarray, lengths: np.ndarray, y: np.ndarray, seed: int
    ) -> tuple[ClassificationTask, SeriesArrayDataModule]:
        """The task (initialised from ``seed``) and the data module of one training set."""
        data = SeriesArrayDataModule(
            x=x,
            y=y,
            lengths=lengths,
            class_names=[str(c) for c in self.classes_],
            normalize=self.normalize,
            batch_size=min(self.batch_size, len(x)),
            seed=seed,
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            task = ClassificationTask(
                name=self.model_name,
                model_kwargs={**self._model_defaults, **(self.model_kwargs or {})},
                num_classes=len(self.classes_),
                input_shape=data.input_shape,
                lr=self.lr,
                weight_decay=self.weight_decay,
                class_names=data.class_names,
            )
        return task, data

    # -- prediction --------------------------------------------------------------------------------
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n_cases, n_classes)``, columns in the order of :attr:`classes_`."""
        check_is_fitted(self, "task_")
        x, lengths = self._series(X, reset=False)
        normalization = resolve_normalization(check_normalization(self.normalize), x.shape[2])
        inputs = torch.from_numpy(
            standardize(x, lengths, normalization, self.channel_mean_, self.channel_std_)
        )
        steps = torch.from_numpy(lengths)
        out = []
        with torch.no_grad():
            for start in range(0, len(inputs), _PREDICT_BATCH):
                chunk = slice(start, start + _PREDICT_BATCH)
                out.append(torch.softmax(self.task_(inputs[chunk], steps[chunk]), dim=-1))
        return torch.cat(out).double().numpy()

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each case, as one of :attr:`classes_`."""
        probabilities = self.predict_proba(X)  # checks first that the estimator is fitted
        return self.classes_[probabilities.argmax(axis=1)]


class TimeSeriesClassifier(_SeriesNetworkClassifier):
    """Any registered time-series classifier by name (``cnnlstm models``): ``model="lstm_fcn"``.

    The other arguments are those of :class:`LSTMFCNClassifier`.
    """

    def __init__(
        self,
        *,
        model: str = "lstm_fcn",
        model_kwargs: dict[str, Any] | None = None,
        max_steps: int = 4500,
        batch_size: int = 16,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        normalize: bool | str = True,
        random_state: int | np.random.RandomState | None = None,
        verbose: bool = False,
        accelerator: str = "cpu",
        precision: str = "auto",
    ) -> None:
        self.model = model
        super().__init__(
            model_kwargs=model_kwargs,
            max_steps=max_steps,
            batch_size=batch_size,
            lr=lr,
            weight_decay=weight_decay,
            normalize=normalize,
            random_state=random_state,
            verbose=verbose,
            accelerator=accelerator,
            precision=precision,
        )

    @property
    def model_name(self) -> str:
        return str(self.model)


class LSTMFCNClassifier(_SeriesNetworkClassifier):
    __doc__ = (
        "LSTM-FCN (Karim et al. 2018) as a scikit-learn classifier.\n"
        + (_SeriesNetworkClassifier.__doc__ or "").split("\n", 1)[1]
    )
    _model_name = "lstm_fcn"


class MLSTMFCNClassifier(_SeriesNetworkClassifier):
    __doc__ = (
        "MLSTM-FCN (Karim et al. 2019) as a scikit-learn classifier.\n"
        + (_SeriesNetworkClassifier.__doc__ or "").split("\n", 1)[1]
    )
    _model_name = "mlstm_fcn"


class CNNBiLSTMClassifier(_SeriesNetworkClassifier):
    __doc__ = (
        "The CNN-BiLSTM baseline as a scikit-learn classifier.\n"
        + (_SeriesNetworkClassifier.__doc__ or "").split("\n", 1)[1]
    )
    _model_name = "cnn_bilstm"


class DeepConvLSTMClassifier(_SeriesNetworkClassifier):
    __doc__ = (
        "DeepConvLSTM (Ordóñez & Roggen 2016) as a scikit-learn classifier.\n"
        + (_SeriesNetworkClassifier.__doc__ or "").split("\n", 1)[1]
    )
    _model_name = "deepconvlstm"
    _model_defaults = {"dropout": 0.2}  # as ucr-deepconvlstm (the paper's 0.5 under-fits small sets)
