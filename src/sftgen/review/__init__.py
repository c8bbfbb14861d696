"""Human review: the expert loop for prompts and answers (server, queue policy, decisions, agreement and
calibration, interchange with Label Studio and Argilla, and the gates that feed decisions back)."""
