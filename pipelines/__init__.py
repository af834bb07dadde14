"""callsync: batch-calling campaigns from voice-AI platforms into an analytics warehouse.

Importing it changes nothing global; the command's process tuning is in `pipelines.process`."""
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"  # the SQL models, seeds and column descriptions


def version() -> str:
    """The installed callsync's version (the command's --version; the models' input fingerprint)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("callsync")
    except PackageNotFoundError:
        return "unknown (not installed)"
