"""The staff console at ``/console`` (shared/API.md "Staff console"): server-rendered
pages behind a staff session; every form carries a CSRF token; works without
JavaScript (plain forms and 303 redirects), with it files can be dropped on the page
and uploads show their progress."""
