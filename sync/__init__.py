"""The integration, in packages by concern (docs/architecture.md draws them and their allowed imports).
May import warehouse; warehouse never imports it."""
