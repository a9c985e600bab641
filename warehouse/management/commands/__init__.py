"""``manage.py`` commands of the warehouse: load the dim_date calendar; merge and import benchmarks."""
