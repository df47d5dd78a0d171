"""zbus's compatibility example (module ``server``: ``calculator@1.0`` and ``utils@1.0``)."""
