"""Interchange with the annotation tools teams already use: exchange.py writes the queue out and reads
annotations back as decisions; labelstudio.py and argilla.py know each tool's files; types.py what they
pass around."""
