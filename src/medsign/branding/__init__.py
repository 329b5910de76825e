"""Per-organization branding: logo, colours, sender name and a custom domain for links."""
