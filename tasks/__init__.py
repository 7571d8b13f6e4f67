from tasks.app import app

__all__ = ["app"]
