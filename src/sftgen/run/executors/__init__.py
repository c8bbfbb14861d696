"""Executors run a pipeline's steps over a RunContext: local.py (one asyncio loop), ray.py (the per-item work
of LLM steps and chunking on a Ray cluster; ray_loopback.py keeps a local Ray on 127.0.0.1)."""
