"""Live-call writes, one module per feature: inbox (webhooks stored), ingest (applied to
sessions and legs), reconcile (list.calls and CCAI listing), actions (call control),
start (new calls), live (pushing to browsers)."""
