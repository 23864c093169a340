"""msmesh.people package."""
