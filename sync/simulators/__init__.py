"""Development tools: fake PropertyWare and ServiceFusion servers and their datasets.
Only dev commands, benchmarks and tests import this package.
"""
