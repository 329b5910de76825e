"""Scheduled notifications: message templates, rules (before an appointment, birthdays,
after a service, after a status change, results ready), the schedule of each target's
next fire time and the once-only ledger of what fired (docs/notification-rules.md)."""
