"""Readers turn any input into ``Message`` objects; writers turn results into any output."""
