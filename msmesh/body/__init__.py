"""msmesh.body package."""
