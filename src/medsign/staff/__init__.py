"""Staff accounts of the console: roles, passwords, TOTP, sessions, invitations."""
