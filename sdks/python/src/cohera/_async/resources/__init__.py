"""The resources, one module per area of the API."""
