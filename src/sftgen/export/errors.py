"""What an export refuses with: the message names the row, field or path."""


class ExportError(Exception):
    """An export that cannot be made or written."""
