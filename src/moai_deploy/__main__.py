"""`python -m moai_deploy` runs the CLI."""

from moai_deploy.cli.main import run

run()
