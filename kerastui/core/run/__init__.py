"""The run contract: a run is a process and a directory.

``directory`` (RunDir: every file name, read defensively), ``status`` (RunStatus: the one vocabulary),
``events`` (what a trainer emits), ``history`` (the one fold of events into a history, the one
"best" rule), ``trainer`` (preset -> model.fit), ``process`` (the run process: lock, status,
signals), ``client`` (launch, follow, stop, resume, list: the TUI's and the CLI's one way to runs),
``table`` (the runs table's columns and CSV).
"""
