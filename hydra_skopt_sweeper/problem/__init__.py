"""The problem a sweep solves: what may be searched (:mod:`.search_space`), which points may be
launched (:mod:`.constraint`), what a trial returns and the sweep optimises
(:mod:`.objectives`), and what its measured metrics must meet (:mod:`.metrics`).

Pure definitions, read by every other part; they import nothing of it.
"""
