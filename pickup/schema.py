"""OpenAPI descriptions of the kiosk authentication schemes (loaded by PickupConfig.ready)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class KioskKeyScheme(OpenApiAuthenticationExtension):
    target_class = "pickup.auth.KioskKeyAuthentication"
    name = "kioskKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Kiosk API key: `Authorization: Kiosk <key>`.",
        }


class KioskSessionScheme(OpenApiAuthenticationExtension):
    target_class = "pickup.auth.KioskSessionAuthentication"
    name = "kioskSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
