"""
Impute, then classify, tuned in sktime
======================================

The adapters of :mod:`tsfilm.sktime` make tsfilm's estimators sktime estimators: here
an imputer and a classifier form one sktime pipeline, which sktime's
``TSCGridSearchCV`` tunes on motion-sensor recordings with a fifth of their values
missing.

:class:`~tsfilm.sktime.TFiLMSeriesImputer` fills the gaps of every series with one
network trained on the whole panel; :class:`~tsfilm.sktime.TFiLMClassifier` classifies
the filled series. The grid compares the classifier with and without its TFiLM layers.
This example needs the ``sktime`` extra: ``pip install "tsfilm[sktime]"``.
"""

# %%
# Data with gaps
# --------------
# BasicMotions (shipped with sktime): 3-axis accelerometer and gyroscope recordings,
# six variables of 100 time points, of four activities.
# :func:`~tsfilm.preprocessing.hide_at_random` replaces 20 % of the values by NaN; a
# classifier alone would refuse them.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import KFold
from sktime.classification.model_selection import TSCGridSearchCV
from sktime.datasets import load_basic_motions

from tsfilm.metrics import masked_l2
from tsfilm.preprocessing import hide_at_random
from tsfilm.registry import make_model
from tsfilm.sktime import TFiLMClassifier, TFiLMSeriesImputer, TsfilmImputer

X_train, y_train = load_basic_motions(split="train", return_type="numpy3D")
X_test, y_test = load_basic_motions(split="test", return_type="numpy3D")
X_train_missing, _ = hide_at_random(X_train, 0.2, random_state=0)
X_test_missing, hidden = hide_at_random(X_test, 0.2, random_state=1)
print(f"train {X_train.shape}, test {X_test.shape}, classes {sorted(map(str, set(y_train)))}")

# %%
# One pipeline, tuned by sktime
# -----------------------------
# ``imputer * classifier`` is sktime's ``ClassifierPipeline``. Both adapters take the
# hyper-parameters of the tsfilm estimators they wrap; tiny networks and few epochs
# keep the example fast on a CPU. The classifier's ``tfilm`` parameter switches its
# TFiLM layers off, which gives the paper's SmallCNN baseline: the grid search compares
# both by 3-fold cross-validation, imputer refitted in every fold.
imputer = TFiLMSeriesImputer(
    scaling="standard",
    window_length=64,
    depth=3,
    width=0.25,
    max_filters=64,
    max_epochs=6,
    learning_rate=3e-3,
    validation_fraction=0.0,
    random_state=0,
)
classifier = TFiLMClassifier(
    embedding_dim=8,
    n_filters=16,
    n_layers=2,
    block_length=4,
    dropout=0.0,
    max_epochs=20,
    learning_rate=1e-2,
    validation_fraction=0.0,
    random_state=0,
)
pipeline = imputer * classifier
search = TSCGridSearchCV(
    pipeline,
    param_grid={"classifier__tfilm": [True, False]},
    cv=KFold(n_splits=3, shuffle=True, random_state=0),
)
search.fit(X_train_missing, y_train)
for tfilm, score in zip(
    search.cv_results_["param_classifier__tfilm"],
    search.cv_results_["mean_test_score"],
    strict=True,
):
    print(f"tfilm={tfilm!s:5}  cross-validated accuracy {score:.2f}")
print("best:", search.best_params_)
print(f"test accuracy of the refitted best pipeline: {search.score(X_test_missing, y_test):.2f}")

# %%
# What the imputer filled
# -----------------------
# The fitted pipeline keeps its steps; the imputer's ``transform`` returns the series
# with every gap filled and every observed value unchanged. The generic adapter
# :class:`~tsfilm.sktime.TsfilmImputer` runs any imputer of the model registry, here
# the cubic-spline baseline, for comparison on the hidden test values (the paper's L2
# distance).
fitted_imputer = search.best_estimator_.transformers_.steps_[0][1]
X_filled = fitted_imputer.transform(X_test_missing)
observed = ~np.isnan(X_test_missing)
assert np.array_equal(X_filled[observed], X_test[observed])

spline = TsfilmImputer(make_model("spline", task="imputation"))
X_spline = spline.fit_transform(X_test_missing)
print(
    f"L2 error on the hidden values: TFiLM {masked_l2(X_test, X_filled, hidden):.1f}, "
    f"spline {masked_l2(X_test, X_spline, hidden):.1f}"
)

series = int(np.flatnonzero(y_test == "walking")[0])
variable = 0
t = np.arange(X_test.shape[-1])
gaps = hidden[series, variable]
fig, ax = plt.subplots(figsize=(8, 3.5), layout="constrained")
ax.plot(t, X_test[series, variable], color="0.7", label="recorded")
ax.plot(t, X_test_missing[series, variable], ".", color="C0", ms=4, label="observed")
ax.plot(t[gaps], X_spline[series, variable][gaps], "+", color="C2", label="spline")
ax.plot(t[gaps], X_filled[series, variable][gaps], "x", color="C3", label="TFiLM")
ax.set(
    xlabel="time point",
    ylabel="acceleration (x axis)",
    title=f"BasicMotions test series {series} ({y_test[series]}), 20 % hidden",
)
ax.legend(loc="upper right", ncols=4)
plt.show()
