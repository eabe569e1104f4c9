"""Fake payment gateways: real HTTP servers on 127.0.0.1 that check what the real gateways check."""
