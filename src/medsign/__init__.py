"""medsign: electronic signatures for clinics."""
