"""Usage metering (signatures, SMS, emails per organization, branch and day) and plan limits."""
