"""cnnlstm.sklearn: scikit-learn's estimator checks, cross-validation, pipelines, sktime panels."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import check_classifiers_train, parametrize_with_checks

from cnnlstm.sklearn import (
    CNNBiLSTMClassifier,
    DeepConvLSTMClassifier,
    LSTMFCNClassifier,
    MLSTMFCNClassifier,
    TimeSeriesClassifier,
)
from cnnlstm.tasks import ClassificationTask

FEW = dict(max_steps=3, batch_size=8)  # the checks test the interface, not the learning
SMALL_FCN = {"conv_channels": (8, 16, 8)}
# The generic estimator, and DeepConvLSTM, whose series the estimator pads to its receptive field
# (the checks' tabular data have 1 to 10 time points): every code path of the module.
ESTIMATORS = [
    TimeSeriesClassifier(model="lstm_fcn_tiny", **FEW),
    DeepConvLSTMClassifier(model_kwargs={"conv_channels": 8, "lstm_hidden": 8}, **FEW),
]
# The other named classes differ only in the model they train.
MORE_ESTIMATORS = [
    LSTMFCNClassifier(model_kwargs=SMALL_FCN, **FEW),
    MLSTMFCNClassifier(model_kwargs={**SMALL_FCN, "se_reduction": 4}, **FEW),
    CNNBiLSTMClassifier(model_kwargs={"conv_channels": (8, 16), "lstm_hidden": 8}, **FEW),
]


def _expected_failures(estimator) -> dict[str, str]:
    return {
        "check_classifiers_train": "3 updates do not fit the data; test_classifiers_train_check_with_a_training_budget runs it"
    }


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failures)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.slow
@parametrize_with_checks(MORE_ESTIMATORS, expected_failed_checks=_expected_failures)
def test_scikit_learn_estimator_checks_of_the_other_models(estimator, check):
    check(estimator)


def test_classifiers_train_check_with_a_training_budget():
    """scikit-learn's check that a classifier fits its training data (accuracy > 0.83), given 60 updates."""
    check_classifiers_train("TimeSeriesClassifier", TimeSeriesClassifier(model="lstm_fcn_tiny", max_steps=60))


def _toy(n: int = 30, channels: int = 2, length: int = 24, seed: int = 0):
    """Two classes told apart by a step in the middle of channel 0; string labels."""
    rng = np.random.default_rng(seed)
    y = np.array(["low", "high"] * (n // 2))
    X = rng.normal(size=(n, channels, length))
    X[y == "high", 0, length // 3 : 2 * length // 3] += 2.0
    return X, y


def test_cross_val_score_and_pipeline_learn_the_toy_task():
    X, y = _toy()
    pipe = make_pipeline(
        FunctionTransformer(lambda a: a * 10.0),  # any (n, c, t) -> (n, c, t) step
        TimeSeriesClassifier(model="lstm_fcn_tiny", max_steps=40, random_state=0),
    )
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() >= 0.8, scores  # chance is 0.5


def test_same_random_state_gives_the_same_fit_and_another_differs():
    X, y = _toy(n=12)
    fit = lambda seed: TimeSeriesClassifier(model="cnn_bilstm_tiny", max_steps=4, random_state=seed).fit(X, y)  # noqa: E731
    a, b, c = fit(0), fit(0), fit(1)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))
    assert isinstance(a.task_, ClassificationTask)  # the library's task trained it
    assert a.predict(X).dtype == y.dtype and set(a.predict(X)) <= {"low", "high"}


def test_a_soft_vote_over_seeds_is_a_seed_ensemble():
    """scikit-learn's VotingClassifier averages the members' probabilities: no ensemble code here."""
    from sklearn.ensemble import VotingClassifier

    X, y = _toy(n=12)
    members = [
        (f"seed{s}", TimeSeriesClassifier(model="lstm_fcn_tiny", max_steps=4, random_state=s)) for s in (0, 1)
    ]
    ensemble = VotingClassifier(members, voting="soft").fit(X, y)
    probas = [member.predict_proba(X) for member in ensemble.estimators_]
    assert not np.array_equal(*probas)  # two seeds, two networks
    np.testing.assert_allclose(ensemble.predict_proba(X), np.mean(probas, axis=0), rtol=1e-6)
    assert set(ensemble.predict(X)) <= {"low", "high"}


def test_quiet_by_default(capfd):
    X, y = _toy(n=8)
    TimeSeriesClassifier(model="lstm_fcn_tiny", max_steps=2, random_state=0).fit(X, y).predict(X)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_sktime_nested_panel_with_unequal_lengths():
    pd = pytest.importorskip("pandas")
    X, y = _toy(n=10, channels=2)
    cut = [24 - (i % 4) for i in range(10)]
    frame = pd.DataFrame({f"dim_{c}": [pd.Series(X[i, c, : cut[i]]) for i in range(10)] for c in range(2)})
    labels = np.arange(10) % 2 + 7  # integer labels
    clf = TimeSeriesClassifier(model="lstm_fcn_tiny", max_steps=3, random_state=0).fit(frame, labels)
    assert clf.n_features_in_ == 2 and clf.series_length_ == 24 and clf.variable_length_
    assert clf.classes_.tolist() == [7, 8] and clf.predict(frame.iloc[:3]).shape == (3,)
    with pytest.raises(ValueError, match="fitted on 24"):
        clf.predict(np.zeros((2, 2, 30)))
    with pytest.raises(ValueError, match="2 features"):
        clf.predict(np.zeros((2, 3, 24)))


def test_aeon_list_of_unequal_length_cases():
    X, y = _toy(n=8, channels=2)
    cases = [X[i, :, : 24 - (i % 3)] for i in range(8)]  # (channels, timepoints_i)
    clf = TimeSeriesClassifier(model="cnn_bilstm_tiny", max_steps=3, random_state=0).fit(cases, y)
    assert clf.variable_length_ and clf.predict_proba(cases[:2]).shape == (2, 2)
    np.testing.assert_allclose(clf.predict_proba(cases[:1]), clf.predict_proba(X[:1]), rtol=1e-5)  # 24 steps


def test_sktime_multiindex_and_df_list_panels_and_univariate_case_lists():
    pd = pytest.importorskip("pandas")
    X, y = _toy(n=8, channels=2)
    cut = [24 - (i % 3) for i in range(8)]
    cases = [X[i, :, : cut[i]] for i in range(8)]  # aeon's (channels, timepoints_i)
    clf = TimeSeriesClassifier(model="lstm_fcn_tiny", max_steps=3, random_state=0).fit(cases, y)
    expected = clf.predict_proba(cases)
    # sktime's pd-multiindex: (case, time point) rows, a column per channel; cases in order of
    # appearance, whatever their labels sort as
    names = [f"case{9 - i}" for i in range(8)]
    index = pd.MultiIndex.from_tuples(
        [(names[i], t) for i in range(8) for t in range(cut[i])], names=["instances", "timepoints"]
    )
    multi = pd.DataFrame(np.concatenate([c.T for c in cases]), index=index, columns=["x", "y"])
    np.testing.assert_allclose(clf.predict_proba(multi), expected, rtol=1e-6)
    # sktime's df-list: a (timepoints_i, channels) DataFrame per case
    frames = [pd.DataFrame(c.T, columns=["x", "y"]) for c in cases]
    np.testing.assert_allclose(clf.predict_proba(frames), expected, rtol=1e-6)
    # univariate cases as 1-D arrays
    uni = TimeSeriesClassifier(model="lstm_fcn_tiny", max_steps=3, random_state=0).fit(
        [c[0] for c in cases], y
    )
    assert uni.n_features_in_ == 1 and uni.variable_length_
    np.testing.assert_allclose(
        uni.predict_proba([c[0] for c in cases]), uni.predict_proba([c[:1] for c in cases]), rtol=1e-6
    )
    with pytest.raises(ValueError, match="differ in channel count"):
        clf.predict([cases[0], cases[1][:1]])


def test_unknown_model_is_a_clear_error():
    X, y = _toy(n=8)
    with pytest.raises(ValueError, match="time-series classifier; received 'lrcn_tiny'"):
        TimeSeriesClassifier(model="lrcn_tiny").fit(X, y)


def test_series_normalisation_predicts_from_each_series_own_scale():
    # normalize="series": every case is z-normalised over its own steps, in fit and in predict, so
    # a case scaled and shifted gets the probabilities of the case itself.
    X, y = _toy(n=8)
    cases = [X[i, :, : 24 - (i % 3)] for i in range(8)]
    clf = TimeSeriesClassifier(model="lstm_fcn_tiny", max_steps=3, normalize="series", random_state=0)
    clf.fit(cases, y)
    np.testing.assert_allclose(
        clf.predict_proba([1e4 * cases[1] + 7.0]), clf.predict_proba(cases[1:2]), rtol=1e-4, atol=1e-5
    )
    with pytest.raises(ValueError, match="normalize must be true, false or one of"):
        TimeSeriesClassifier(model="lstm_fcn_tiny", normalize="global").fit(X, y)


def test_auto_normalisation_is_series_for_one_channel_and_channel_for_several():
    X, y = _toy(n=8)  # (n, channels, length)
    for data, expected in ((X[:, :1], "series"), (X, "channel")):
        auto = TimeSeriesClassifier(model="lstm_fcn_tiny", max_steps=2, normalize="auto", random_state=0)
        same = TimeSeriesClassifier(model="lstm_fcn_tiny", max_steps=2, normalize=expected, random_state=0)
        np.testing.assert_array_equal(
            auto.fit(data, y).predict_proba(data), same.fit(data, y).predict_proba(data)
        )


def test_precision_is_validated_and_float32_and_auto_both_train():
    X, y = _toy(n=16, length=16)
    with pytest.raises(ValueError, match="precision must be one of"):
        TimeSeriesClassifier(model="lstm_fcn_tiny", precision="fp8").fit(X, y)
    for precision in ("32-true", "auto"):
        clf = TimeSeriesClassifier(model="lstm_fcn_tiny", max_steps=2, precision=precision, random_state=0)
        probabilities = clf.fit(X, y).predict_proba(X)
        assert probabilities.dtype == np.float64 and np.allclose(probabilities.sum(axis=1), 1.0)
