"""The providers app's models: the local renderer's task table (studio/providers/local/)."""

from studio.providers.local.models import LocalTask

__all__ = ["LocalTask"]
