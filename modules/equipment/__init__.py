"""Equipment module: scientific, IT and other devices and the electricity they use."""
