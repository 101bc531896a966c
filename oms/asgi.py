"""The ASGI entry point for uvicorn workers: settings from the environment."""

from oms.app import create_app
from oms.config import Settings
from oms.kit.logging import configure_logging

_settings = Settings()
configure_logging(_settings.log_level, json_lines=_settings.json_logs())
app = create_app(_settings)
