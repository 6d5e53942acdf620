"""TAXII 2.1 server: partners' threat-intelligence platforms pull the cases routed to them as STIX."""
