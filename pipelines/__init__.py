"""callsync: batch-calling campaigns from voice-AI platforms into an analytics warehouse."""
import os

# Set before pyarrow is imported: Arrow's default pool (jemalloc/mimalloc) keeps freed pages,
# the system allocator returns them, which keeps a long sync's peak memory flat.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
