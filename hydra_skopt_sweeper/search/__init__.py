"""How points are chosen: the ask/tell proposers (:mod:`.proposer`, :mod:`.pareto_proposer`),
their model, acquisition, candidate search, column layout and feasibility, the Pareto fronts,
every tuning constant (:mod:`.policy`), and what the trials tell the model (:mod:`.feed`).

Numpy, scipy and scikit-optimize only: nothing here knows Hydra, files or processes.
"""
