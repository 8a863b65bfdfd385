"""The control plane: one service layer over the CLI's operations, served over HTTP."""
