"""The run machinery: the runner, the step graph, step context, the sync lock, cursors, metering, summaries
and the django-q2 tasks. May import steps (by name), outbox, policies, loaders, models, clients and warehouse.
"""
