"""The web side: webhook routes, the staff dashboard and the REST API."""
