"""hydra-skopt-sweeper: Gaussian-process Bayesian optimisation for Hydra multiruns."""

__version__ = "0.1.0"
