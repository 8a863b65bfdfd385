"""How traffic reaches instances. `base` holds the protocol; one folder per router."""
