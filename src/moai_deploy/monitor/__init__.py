"""The local monitoring stack (`moai-deploy monitor up|down|status`): a Prometheus scraping
Traefik and every instance with the rendered alerting rules, an Alertmanager delivering to
moai-deploy's webhook receiver; everything under the project's state folder."""
