"""Reviewers' decisions: the log in the store and what it adds up to (log.py), and which items go to
reviewers (policy.py). The review gates (steps/review_gate.py) and the review apps (review/) both use it."""
