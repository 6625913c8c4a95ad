"""The read side's HTTP routes."""
