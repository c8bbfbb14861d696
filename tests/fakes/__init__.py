"""Test doubles: a fake OpenAI-compatible server and its helpers."""
