"""`python -m pipelines.cli`: the `callsync` command."""
import sys

from pipelines.cli import main

sys.exit(main())
