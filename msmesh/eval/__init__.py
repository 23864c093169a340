"""msmesh.eval package."""
