"""Running the pipeline: `open_run` (the one RunContext factory), the runner behind `sftgen run`, the budget,
and the executors (local asyncio, Ray)."""
