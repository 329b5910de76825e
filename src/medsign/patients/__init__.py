"""Patients and their agreements on electronic signatures (EDO agreements)."""
