"""The twelve steps, one module each: orchestration only. A step reads through loaders, decides through
policies and plans through the outbox. May import the engine context, outbox, policies, loaders,
models and clients; never another step."""
