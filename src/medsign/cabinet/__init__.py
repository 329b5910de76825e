"""The patient cabinet: login by code, sessions per device, attachment to clinics by
9-digit codes, the patient's documents across clinics and files shared with a clinic."""
