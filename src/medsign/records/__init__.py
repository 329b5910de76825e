"""Record requests: a patient asks a clinic for copies of their medical records; the
clinic issues them, sealed, to the cabinet within the legal deadline."""
