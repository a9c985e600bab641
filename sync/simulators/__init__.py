"""Development tools: fake PropertyWare and ServiceFusion servers and their datasets.
Imports nothing of the app; only dev commands, benchmarks and tests import it."""
