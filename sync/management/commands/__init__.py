"""``manage.py`` commands of the sync: the run, flags, API tokens and the dev tools (demo, bench, chaos)."""
