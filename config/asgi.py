import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
from config import tracing

tracing.setup()  # OTEL_ENABLED only; before the middleware is loaded
application = get_asgi_application()
