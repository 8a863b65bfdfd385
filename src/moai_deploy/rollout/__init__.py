"""Rollouts: strategies plan the steps (pure), the executor applies them through protocols."""
