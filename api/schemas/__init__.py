"""marshmallow schemas of the API's requests and responses; the OpenAPI document comes from them."""
