"""A PyTorch Lightning app tuned by the ``skopt_gp`` Hydra sweeper.

- ``model.py``: ``MLPClassifier``, a LightningModule whose constructor takes the tuned
  hyperparameters.
- ``data.py``: ``DigitsDataModule``, scikit-learn's digits, standardised, fixed seeded split.
- ``callbacks.py``: ``HParamsMetric``, writes each trial's hyperparameters and best metric to
  TensorBoard's HParams tab.
- ``runtime.py``: the per-trial plumbing: thread count, quiet Lightning logs, best metric.
- ``train.py``: the Hydra task function; returns the best value of the monitored metric.

Run it from the repository root::

    python example_app/train.py                       # one training run
    python example_app/train.py -m experiment=tune_mlp  # a Bayesian-optimisation sweep
"""
