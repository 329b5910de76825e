"""Pre-visit invites: a link where a new patient fills in their own card and consents to
personal-data processing before the first visit (DOCCOD, shared/seeds/README.md)."""
