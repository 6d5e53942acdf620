"""Keys and signatures: Ed25519 keys, the key directory, detached JWS, JWKS, HTTP message signatures."""
