"""Notifications of release and pipeline transitions, behind one small protocol."""
