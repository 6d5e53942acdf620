"""Transports: how an encoded, signed message reaches a partner (separate from its format).

Each is a plug-in (``base.TransportPlugin``) registered under the ``hotline_gateway.transports`` entry
points; ``registry`` finds them, checks partners' settings against them and builds the ones in use.
"""
