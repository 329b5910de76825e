"""Document templates: PDFs with form fields that the MIS or staff fill before sending."""
