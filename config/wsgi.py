import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
from config import tracing

tracing.setup()  # OTEL_ENABLED only; before the middleware is loaded
application = get_wsgi_application()
