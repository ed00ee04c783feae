"""Ready-made survey files to start from: copy one, change it, load it."""

from __future__ import annotations

from importlib.resources import files

TEMPLATES = ("standards", "smiley")
"""``standards``: the participation-standards self-assessment, each standard on the
four-point scale and then "What would make this better?". ``smiley``: a short
easy-read "How are things?" survey."""


def template_text(name: str) -> str:
    """The YAML of the template called ``name`` (one of :data:`TEMPLATES`)."""
    if name not in TEMPLATES:
        raise ValueError(f"there is no survey template called {name!r}; "
                         f"choose one of {', '.join(TEMPLATES)}")
    return (files("bot.surveys") / "templates" / f"{name}.yaml").read_text(encoding="utf-8")
