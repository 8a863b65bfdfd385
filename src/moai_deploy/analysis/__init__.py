"""Analysis: measure a release's versions, judge each measurement, decide the rollout's fate.

Modules: `conditions` (safe success/failure expressions), `base` (the MetricProvider
protocol and shared types), `run` (Argo-style analysis runs, blocking or in the background),
`judge` (Mann-Whitney U canary judge), and one folder per provider (`traefik/`,
`prometheus/`). This package imports nothing at import time: `spec.analysis` depends on
`conditions`, and the run depends on `spec.analysis`.
"""
