"""Signals the review queues send, so the push side can react at once instead of at the next run.

``work_order_released``: staff released a held work order (unit corrected or released building-level,
or a duplicate candidate judged "push"). Arguments: ``work_order_id``, ``reason`` (str), ``source``
("unit_correction" or "duplicate_review").
"""
from django.dispatch import Signal

work_order_released = Signal()
