"""refunddesk: a self-hosted refund desk for subscription services."""

__version__ = "0.1.0"
