"""The listening test behind Tables 10-12: a blind rating page served on 127.0.0.1.

``python -m reports.listen trials DIR`` writes ``DIR/trials.json`` from ``DIR/stimuli.csv`` (one
trial per excerpt: every method's stimulus of one segment, seeded order); ``serve DIR --answers
FILE`` runs the page: MOS 1-5 as the paper (absolute category rating, ITU-T P.800) or MUSHRA 0-100
with hidden reference and a 3.5 kHz low-pass anchor (ITU-R BS.1534-3), each trial's answer
appended to ``FILE`` (JSON lines, fsync); ``export`` screens the raters and writes the
``ratings.csv`` that :mod:`reports.human_eval` reads; ``screen`` prints the screening only.

Modules, one job each: :mod:`.trials` (trial list, each rater's order), :mod:`.answers` (the
append-only answer log), :mod:`.screen` (post-screening, ratings rows, summaries), :mod:`.anchor`
(the low-pass anchor), :mod:`.server` (HTTP on the standard library), :mod:`.cli`.
"""
