"""Open verification: which envelope a file belongs to, and the requisites check."""
