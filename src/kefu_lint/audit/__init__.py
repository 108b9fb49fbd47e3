"""Auditing chat logs: conversation scoring, storage, batch and parallel execution."""
