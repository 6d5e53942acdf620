"""Format adapters, one package per format; each is registered through the hotline_gateway.adapters entry points."""
