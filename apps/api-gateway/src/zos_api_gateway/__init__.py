"""api-gateway: the node's chain gateway daemon."""
