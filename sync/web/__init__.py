"""HTTP outside the admin: the trigger API, the dashboard's context and its charts.
May import the engine, policies, loaders and models.
"""
