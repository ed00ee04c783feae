"""Voicebank: the application that wires the bot, its channels, storage and scheduler."""
