"""sftgen: a folder of domain documents in, a supervised fine-tuning dataset out."""

__version__ = "0.1.0"
