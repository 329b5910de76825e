"""Evidence at completion: the certificate of completion (JSON and sealed PDF) and the
PAdES B-LTA archive of the final PDF."""
