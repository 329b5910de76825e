"""Platform authenticators (W3C WebAuthn Level 2) registered for clinician devices: each
approval from such a device carries a user-verified assertion over what is approved."""
