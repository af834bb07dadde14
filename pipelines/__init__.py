"""callsync: batch-calling campaigns from voice-AI platforms into an analytics warehouse.

Importing it changes nothing global; the command's process tuning is in `pipelines.process`."""
