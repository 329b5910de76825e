"""Outbound network guards shared by every feature that calls a URL an organization gave."""
