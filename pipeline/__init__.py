"""The reproduction pipelines of ``simlib reproduce``, in three steps.

Plan: a paper's settings become jobs, plain picklable data, each keyed and idempotent
(:mod:`simlib.pipeline.jobs`, :mod:`simlib.pipeline.mikulik2020`, :mod:`simlib.pipeline.wang2016`).
Execute: an executor runs them in dependency order (:mod:`simlib.pipeline.execute`). Aggregate:
tables and figures from the results the jobs left in the output folder
(:mod:`simlib.pipeline.aggregate`, :mod:`simlib.pipeline.results`,
:mod:`simlib.pipeline.wang2016_report`). Every job writes its file atomically and does nothing
when the file already holds its key (:mod:`simlib.pipeline.cache`), so a folder resumes.
"""
