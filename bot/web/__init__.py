"""The bot's HTTP server: health check, platform routes, the web chat and the dashboard."""
