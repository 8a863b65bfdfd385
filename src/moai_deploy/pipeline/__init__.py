"""The operations a user runs (deploy, rollback, status, down), wired to real providers."""
