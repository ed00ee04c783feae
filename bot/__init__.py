"""The conversation engine and the domain rules: no network, no framework."""
