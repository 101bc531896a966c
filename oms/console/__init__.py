"""The operator console (``/console``): server-rendered pages on the admin API's services and operator sessions."""
