"""Chat platforms: each turns its traffic into Incoming messages and sends outbox items."""
