"""msmesh.fit package."""
