"""The error of bad input data."""


class DataError(ValueError):
    """Bad input data; the message names the file and frame."""
