"""msmesh.export package."""
