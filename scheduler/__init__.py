"""Jobs that run on time: phase changes, reminders, nudges, and the outbox dispatcher."""
