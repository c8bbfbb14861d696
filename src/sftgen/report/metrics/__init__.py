"""Diversity metrics of a set of texts: lexical (`lexical.py`) and semantic (`semantic.py`)."""
