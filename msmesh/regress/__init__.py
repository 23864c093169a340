"""msmesh.regress package."""
