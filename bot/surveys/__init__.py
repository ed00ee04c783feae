"""Picture-and-number surveys: definitions, the conversation, reminders and results."""
