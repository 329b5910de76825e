"""External qualified signatures: a signed PDF or detached CMS uploaded for a signer,
and remote qualified signing through a Cloud Signature Consortium (CSC) service."""
