"""identityd: the node identity daemon."""
