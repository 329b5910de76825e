"""Real peers (SMTP server, SMS gateway) that tests start on loopback."""
