"""msmesh.render package."""
