"""HTTP handlers: partners' messages, local intake, keys and health. Errors become problem+json here."""
