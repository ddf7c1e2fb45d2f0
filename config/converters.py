"""URL converters. `<id:pk>`: a database id, digits only and small enough for a bigint column
(schemathesis found `<int:...>` passing 481075965743344975872 to the database: a 500 from the
driver's overflow). Anything longer simply does not match the URL: a clean 404."""

from django.urls import register_converter


class DatabaseIdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(int(value))


register_converter(DatabaseIdConverter, "id")
