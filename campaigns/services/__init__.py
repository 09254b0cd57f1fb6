"""Campaign writes, one module per feature: counts, push, control, reports, imports."""
