"""What a sweep dir holds, and its formats: the layout (:mod:`.sweep_dir`), the journal of
trials and the results file (:mod:`.journal`), what a job leaves for the sweeper
(:mod:`.outcomes`), and every trial's learning curve (:mod:`.curves`).

The one thing the sweeper's side, a trial's process and the pictures share.
"""
