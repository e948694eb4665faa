"""Engineering events (deploys, incidents, releases...) and the inbound webhooks that record them."""
