"""Vendor-API simulator: a real HTTP server serving the vendors' batch-calling APIs from one
deterministic, clock-driven world (DESIGN §6)."""

from .app import DIALECTS, create_app
from .server import SimulatorServer, serve_forever
from .world import START, World

__all__ = ["DIALECTS", "START", "SimulatorServer", "World", "create_app", "serve_forever"]
