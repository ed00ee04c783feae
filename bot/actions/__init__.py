"""From ideas to actions: the plan, nudges to owners, "you said, we did", MP surgeries."""
