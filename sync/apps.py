"""The Django app config of the sync: runs, steps, outbox, review queues and the staff screens around them."""
from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "sync"
    verbose_name = "Sync"
