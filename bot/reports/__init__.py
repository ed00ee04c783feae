"""Reports for staff and the Board, computed from the database.

``plan`` is the map and plan: for each participation standard, the score people gave it,
what they said would make it better, and the actions that follow. ``board`` is what the
participation lead takes to the Board for a period: what people said, the surveys, the
elections, the actions done and overdue, and the MPs' surgeries.

Each module keeps its queries apart from the pure functions that shape the rows, so the
shaping can be tested without a database. Drawing and printing live in ``voicebank``.
"""
