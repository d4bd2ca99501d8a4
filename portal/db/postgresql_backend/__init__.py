"""django-tenants' PostgreSQL backend, without repeating a search_path the connection
already has. Used as ``DATABASES["default"]["ENGINE"]``; Django loads ``.base``."""
