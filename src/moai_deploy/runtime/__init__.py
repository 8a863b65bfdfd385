"""Where instances run. `base` holds the protocol; one folder per implementation."""
