"""Clinicians: device enrollment, the clinician CA's certificates, signing requests."""
