"""msmesh.video package."""
