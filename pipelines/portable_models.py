"""The `sql/` models on a destination other than DuckDB: the same planner as `pipelines.models`,
which picks the dlt SQL client's warehouse adapter by itself. Kept as the runner's entry point."""
from pipelines.models import build_models, unknown_statuses

__all__ = ["build_models", "unknown_statuses"]
