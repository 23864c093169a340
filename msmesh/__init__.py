"""msmesh: human mesh recovery (SMPL) from edited video with shot cuts."""

__version__ = "0.1.0"
