"""SQLModel tables, sessions, repositories and Alembic migrations for Voicebank."""
