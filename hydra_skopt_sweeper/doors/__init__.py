"""The ways in: each turns what its user gives into a search space, settings and a launch
function, and hands over to :mod:`..sweep`.

* :mod:`.hydra`: ``hydra/sweeper=skopt_gp`` (the Sweeper Hydra instantiates, in
  ``hydra_plugins/hydra_skopt_sweeper``, is a thin shim over it);
* :mod:`.optuna`: the Optuna sweeper's keys read as this sweeper's settings, and
  ``skopt-from-optuna``;
* :mod:`.scikit_optimize`: scikit-optimize's ``gp_minimize`` and ``Optimizer``, on the
  proposer itself (an ask/tell API has no loop of its own to share).
"""
