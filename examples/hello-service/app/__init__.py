"""hello-service: the small FastAPI app that moai-deploy deploys in its demo and tests."""
