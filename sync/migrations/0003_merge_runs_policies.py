"""Joins the engine's run tables and the policies' tables, written in parallel, into one history."""
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("sync", "0001_runs"), ("sync", "0002_policies_seed")]
    operations = []
