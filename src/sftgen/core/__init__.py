"""The pipeline model every step and executor shares: what a step is (step.py), what it sees while it runs
(context.py, services.py), and the step graph (graph.py)."""
