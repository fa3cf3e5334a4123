"""What a person sees of a sweep, read from its sweep dir alone: the record
(:mod:`.sweep_record`), the refitted model (:mod:`.surface`), the importance
(:mod:`.importance`), the front (:mod:`.solutions`), the pictures (:mod:`.pictures`), the
report page (:mod:`.report_page`), ``skopt-report`` (:mod:`.sweep_report`) and the process
that redraws them while a sweep runs (:mod:`.plot_refresher`).

It reads the sweep dir's formats and nothing of the loop.
"""
