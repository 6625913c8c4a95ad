"""The ops web (issue 17): server-rendered pages in Swedish under ``/ops/`` for the finance
office's case officers, behind the same tokens and roles as the API."""
