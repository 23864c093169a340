"""msmesh.commands package."""
