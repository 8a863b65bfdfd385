"""Run releases as Docker containers: images built from the rendered Dockerfile, pushed to a
registry, recorded by digest, published on 127.0.0.1 for the traffic router."""
