"""What clinic staff do in the console beyond their accounts: send one document to a
patient (optionally sealed by the clinic first) and send one document to many (bulk)."""
