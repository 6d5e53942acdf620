"""hotline-gateway: exchange reports of illegal online content between hotlines, police and hosts."""

__version__ = "0.1.0"
