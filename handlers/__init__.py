"""The bot's handlers; ROUTERS is the order in which their routers are tried."""

from handlers import admin, claims, lookup, orders, service

# Slash commands first, then the lifecycle verbs, look-ups, new orders, and the catch-all.
ROUTERS = (
    admin.router, claims.router, service.router, lookup.router, orders.router, lookup.fallback,
)
