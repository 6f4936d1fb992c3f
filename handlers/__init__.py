"""The bot's handlers; ROUTERS is the order in which their routers are tried."""

from handlers import (
    admin,
    admin_orders,
    admin_roster,
    claims,
    link,
    lookup,
    media,
    menu,
    orders,
    service,
)

# Slash commands first, then keywords, the lifecycle verbs, look-ups, new orders, catch-all.
ROUTERS = (
    admin.router, admin_roster.router, admin_orders.router, link.router, claims.router,
    service.router, menu.router, lookup.questions, lookup.router, orders.router, media.router,
    lookup.fallback,
)
