"""One adapter per channel: each parses inbound messages and renders outbound ones."""
