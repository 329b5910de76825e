"""Appointments pushed by the MIS (or booked in the cabinet): when, with whom, which
service, and their status (cancelled with a reason, restored)."""
