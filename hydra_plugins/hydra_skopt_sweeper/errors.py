"""The one error type the sweeper raises for bad input, so the shim can print it short."""


class SweeperConfigError(ValueError):
    """Bad sweeper input, found before any trial is launched.

    The message names the field, the bad value and what is allowed, e.g.
    ``hydra.sweeper.n_calls=0: must be an integer >= 1``.
    """
