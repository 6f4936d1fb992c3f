"""Routers of handlers (command, message intent, reply), the handler Context, and BotError."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.config import Config
from bot.fallback import ABOUT, FALLBACK_CHAT, GROUP_TEXT
from bot.matching import Routing
from bot.model import Button, ChatKind, Clock, Incoming, Outgoing
from bot.text.parse import Parsed, mask_phones
from storage.records import Expert, Order
from storage.store import Store


class BotError(Exception):
    """The one deliberate exception: its Chinese message is replied to the sender."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Context:
    """What a handler may use: the store, the clock, the config, and ways to answer."""

    store: Store
    clock: Clock
    config: Config
    msg: Incoming
    parsed: Parsed
    args: str = ""  # text after a slash command's name
    quoted_order: int | None = None  # the order a quoted bot message was about
    routers: tuple[Router, ...] = ()
    sent: list[int] = field(default_factory=list)  # outbox ids queued while handling
    # Platforms whose messages are written straight to the bot's own database (the local
    # chat), and the messages for them, written once the handler is done (bot/outbox.py).
    instant: frozenset[str] = frozenset()
    written: list[Outgoing] = field(default_factory=list)
    job: bool = False  # scheduled work: posts are not echoed back to a sender
    routing: Routing | None = None  # the expert matcher kept by the app
    # The bot's own sweep, started in the background for `msg` with an admin scope ("" for
    # all): it answers in the asker's chat when done. None outside a running bot (the CLI).
    sweep_later: Callable[[Incoming, str], None] | None = None

    def matcher(self) -> Routing:
        if self.routing is None:
            self.routing = Routing(self.store)
        return self.routing

    @classmethod
    def for_job(cls, store: Store, clock: Clock, config: Config,
                routing: Routing | None = None) -> Context:
        """A context for scheduled work: no message to answer, only sends."""
        msg = Incoming(platform="system", msg_id="", chat_id="", chat_kind=ChatKind.SINGLE,
                       sender_id="scheduler", sender_name="scheduler", text="")
        return cls(store=store, clock=clock, config=config, msg=msg, parsed=Parsed(), job=True,
                   routing=routing)

    def now(self) -> datetime:
        return self.clock.now()

    def reply(self, text: str, mentions: tuple[str, ...] = ()) -> None:
        """Answer in the chat the message came from."""
        self.send(Outgoing(self.msg.platform, self.msg.chat_id, text, mentions,
                           self.msg.chat_kind, in_reply_to=self.msg.msg_id))

    def send(self, out: Outgoing) -> None:
        """Queue any message in the durable outbox (sent once the handler's change commits);
        the local chat's are kept to be written in the same transaction (`instant`).

        Group posts never carry a full phone number: they are masked here, for every handler.
        """
        if out.chat_kind is ChatKind.GROUP and out.to_user is None:
            out = replace(out, text=mask_phones(out.text))
        elif (out.chat_kind is ChatKind.SINGLE and out.to_user is None
              and out.chat_id == self.msg.chat_id
              and out.platform == self.msg.platform and "for_user" not in out.extra):
            # An answer in this 1:1 chat is for its writer (whom a fallback must reach).
            out = replace(out, extra={**out.extra, "for_user": self.msg.sender_id})
        if out.platform in self.instant:
            self.written.append(out)
            return
        self.sent.append(self.store.enqueue(out))

    def tell(self, user_id: str, text: str, platform: str | None = None, *,
             about: Order | None = None, group_text: str | None = None,
             buttons: tuple[Button, ...] = (), extra: dict[str, str] | None = None) -> None:
        """Send a 1:1 message to one user (by their id on the platform).

        Where the platform cannot deliver it, it goes to a group @-mentioning the user (see
        bot/fallback.py): the group reads `group_text`, else the text itself when the message
        is `about` a public order (phones masked), else only a nudge to ask the bot 1:1."""
        platform = platform or self.msg.platform
        extra = dict(extra or {})
        if about is not None:
            extra[ABOUT] = str(about.no)
            if not about.private:
                if about.platform == platform and about.chat_kind == ChatKind.GROUP.value:
                    extra[FALLBACK_CHAT] = about.chat_id
                extra[GROUP_TEXT] = text if group_text is None else group_text
        elif group_text is not None:
            extra[GROUP_TEXT] = group_text
        self.send(Outgoing(platform, user_id, text, chat_kind=ChatKind.SINGLE, to_user=user_id,
                           extra=extra, buttons=buttons,
                           card=f"order:{about.no}" if about and buttons else ""))

    def is_admin(self) -> bool:
        """A super admin (config) or an admin added in chat whose scope covers this chat."""
        return self.admin_scope() is not None

    def is_super_admin(self) -> bool:
        return self.msg.account in self.config.bot.admins

    def admin_scope(self) -> str | None:
        """None for non-admins; "" for admins of everything; "group:<id>" or "region:<name>"
        for scoped ones (a group-scoped admin is an admin only in that group)."""
        if self.is_super_admin():
            return ""
        scope = self.store.admin_scope(self.msg.account)
        if scope and scope.startswith("group:") and scope[6:] != self.msg.chat_id:
            return None
        return scope

    def expert(self) -> Expert | None:
        """The expert the sender's chat account is linked to, if any."""
        return self.store.expert_by_account(self.msg.account)


Handler = Callable[[Incoming, Context], Awaitable[None]]
Match = Callable[[Incoming, Context], bool]


@dataclass(frozen=True)
class Route:
    """One registered handler and the rule that selects it."""

    handler: Handler
    match: Match
    kind: str  # "command" | "message" | "reply"
    names: tuple[str, ...]
    listed: bool = True

    @property
    def help(self) -> str:
        """The handler's help line: the first line of its docstring ("" when unlisted)."""
        doc = (self.handler.__doc__ or "").strip()
        return doc.splitlines()[0] if doc and self.listed else ""


class Router:
    """Handlers of one feature module, tried in registration order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.routes: list[Route] = []

    def command(self, *names: str) -> Callable[[Handler], Handler]:
        """A slash command (`/指派 …`); `ctx.args` holds the rest of the text."""

        def match(msg: Incoming, ctx: Context) -> bool:
            word, _, rest = _slash(msg.text).partition(" ")
            if word and word in names:
                ctx.args = rest.strip()
                return True
            return False

        return self._add("command", names, match)

    def keyword(self, *words: str) -> Callable[[Handler], Handler]:
        """A message starting with one of `words` (after any @mention); `ctx.args` = the rest."""

        def match(msg: Incoming, ctx: Context) -> bool:
            text = _AT_PREFIX.sub("", msg.text).strip()
            for word in words:
                if text.startswith(word):
                    ctx.args = text[len(word):].strip(" :：")
                    return True
            return False

        return self._add("message", words, match)

    def message(self, *intents: str, listed: bool = True,
                when: Match | None = None) -> Callable[[Handler], Handler]:
        """A message whose parsed intent is one of `intents` (any, when none are given),
        and for which `when` holds, if given."""

        def match(msg: Incoming, ctx: Context) -> bool:
            return (not intents or ctx.parsed.intent in intents) and (
                when is None or when(msg, ctx))

        return self._add("message", intents, match, listed)

    def reply(self, *intents: str,
              quoting: str = "") -> Callable[[Handler], Handler]:
        """A message quoting one of the bot's posts about an order, with one of `intents`
        (and, when `quoting` is given, only if the quoted post contains that text)."""

        def match(msg: Incoming, ctx: Context) -> bool:
            return (ctx.quoted_order is not None and ctx.parsed.intent in intents
                    and quoting in msg.quote_text)

        return self._add("reply", intents, match, listed=False)

    def _add(self, kind: str, names: tuple[str, ...], match: Match,
             listed: bool = True) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self.routes.append(Route(fn, match, kind, names, listed))
            return fn

        return register


_AT_PREFIX = re.compile(r"^\s*(?:@\S+\s+)+")


def _slash(text: str) -> str:
    """The text of a slash command without its slash, or "" when it is not one."""
    t = text.strip()
    if t[:1] in ("/", "／"):
        return t[1:].replace("\u3000", " ").strip()
    return ""


def find_route(routers: tuple[Router, ...], msg: Incoming, ctx: Context) -> Route | None:
    """The first route, across routers in order, whose rule matches."""
    for router in routers:
        for route in router.routes:
            if route.match(msg, ctx):
                return route
    return None
