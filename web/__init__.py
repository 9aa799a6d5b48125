"""The web edge: the aiohttp application, the JSON API, pages, auth, translations and the command line."""
