"""Parts of bench/pipeline_scale.py: the project it builds, the scripted fake server, the timed command
line, the plain client, store figures, review timings and the per-step profile."""
