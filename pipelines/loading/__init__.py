"""Loading: reference files and monthly deliveries into the raw layer."""
