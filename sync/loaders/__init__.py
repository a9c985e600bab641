"""Reading and writing warehouse rows for the steps and policies: batches, merges, current rows, mappings.
May import models and warehouse only.
"""
