"""The console chat: the embedded default when no chat token is configured."""
