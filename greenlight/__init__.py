"""GreenLight: keeps PropertyWare and ServiceFusion in step through a PostgreSQL warehouse."""
