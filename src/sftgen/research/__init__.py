"""Web research: what to look for next (plan), how much it may spend (budget), the pages it keeps (pages,
near_duplicates), and the check of its settings before a run (validate)."""
