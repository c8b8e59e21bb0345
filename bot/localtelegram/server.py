"""The local Telegram: one bot's Bot API with its private chats and update queue, in memory.

`LocalTelegram.call()` answers a Bot API call exactly as Telegram would, with the same JSON
shapes, the same error wording and status codes, long polling or a webhook, flood control and
failures on request. A request class (request.py) or an HTTP server (http.py) puts it behind
PTB; the user side (users.py) writes to the bot and reads what it sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import logging
import re
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from bot.clock import Clock, SystemClock
from bot.localtelegram import formatting
from bot.localtelegram.chat import Chat, ChatMessage, Event, Profile, Version
from bot.localtelegram.faults import FaultKind, FaultPlan
from bot.localtelegram.files import FileKind, FileStore, StoredFile, image_size
from bot.localtelegram.limits import FloodControl, Rate
from bot.localtelegram.notify import Notifier
from bot.localtelegram.protocol import (
    JSON,
    ApiError,
    Params,
    UploadedFile,
    bad_request,
    forbidden,
    too_many_requests,
)
from bot.localtelegram.request import LocalTelegramRequest
from bot.localtelegram.users import LocalUser
from bot.localtelegram.webhooks import post_update, webhook_url_problem

logger = logging.getLogger(__name__)

Listener = Callable[[Event], None]

DEFAULT_BOT_ID = 7_000_000_001
# Telegram's documented limits: about 30 messages a second overall, and about one a second
# into one chat, where short bursts are tolerated.
OVERALL_RATE = Rate(30, 1.0)
CHAT_RATE = Rate(3, 3.0)
# What Telegram delivers when a bot has not chosen its allowed_updates.
DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
INLINE_BUTTON_ACTIONS = frozenset(
    {
        "callback_data",
        "url",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
DEFAULT_SCOPE = json.dumps({"type": "default"})
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


@dataclass(slots=True)
class Stats:
    """What the bot has done so far; benchmarks read these."""

    calls: Counter[str] = field(default_factory=Counter)  # by Bot API method name
    errors: Counter[int] = field(default_factory=Counter)  # error replies by HTTP status
    messages_sent: int = 0
    messages_edited: int = 0
    messages_deleted: int = 0
    too_many_requests: int = 0  # 429 replies, from flood control or injected
    faults: Counter[str] = field(default_factory=Counter)  # injected failures by kind
    webhook_posts: int = 0  # POSTs to the bot's webhook, failed ones included
    webhook_given_up: int = 0  # updates dropped after every webhook attempt failed


@dataclass(slots=True)
class Webhook:
    """The webhook the bot has set; an empty url means the bot polls."""

    url: str = ""
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


class LocalTelegram:
    """An in-process Telegram Bot API serving one bot and the users who chat with it."""

    def __init__(
        self,
        *,
        token: str | None = None,
        bot_id: int | None = None,
        bot_username: str = "glutebot_bot",
        bot_first_name: str = "Glutebot",
        clock: Clock | None = None,
        flood_limits: bool = False,
        overall_rate: Rate = OVERALL_RATE,
        chat_rate: Rate = CHAT_RATE,
        monotonic: Callable[[], float] = time.monotonic,
        webhook_attempts: int = 5,
        webhook_backoff: float = 0.1,
        webhook_timeout: float = 10.0,
    ) -> None:
        """Set up an empty Telegram.

        `token`: when given, calls with any other token get 401; when None, any token works.
        `flood_limits`: answer 429 to sends and edits beyond `overall_rate` or `chat_rate`
        (measured with `monotonic`); can be switched later through the attribute.
        `webhook_attempts`, `webhook_backoff`, `webhook_timeout`: once the bot sets a webhook,
        each update is POSTed up to `webhook_attempts` times, waiting `webhook_backoff`
        seconds after the first failure and twice as long after each next one.
        """
        self.token = token
        self.bot = Profile(
            bot_id or _bot_id_from_token(token), bot_first_name, bot_username, is_bot=True
        )
        self.clock: Clock = clock or SystemClock()
        self.flood_limits = flood_limits
        self.flood = FloodControl(overall_rate, chat_rate, monotonic)
        self.stats = Stats()
        self.webhook = Webhook()
        self._faults = FaultPlan()
        self._files = FileStore()
        self._users: dict[int, LocalUser] = {}  # by user id, which is also their chat id
        self._listeners: list[Listener] = []
        self._updates: deque[JSON] = deque()
        self._last_update_id = 0
        self._updates_arrived = Notifier()
        self._poll_generation = 0
        self._webhook_attempts = max(webhook_attempts, 1)
        self._webhook_backoff = webhook_backoff
        self._webhook_timeout = webhook_timeout
        self._webhook_task: asyncio.Task[None] | None = None
        self._allowed_updates = DEFAULT_ALLOWED_UPDATES
        self._open_queries: dict[str, tuple[Chat, ChatMessage]] = {}
        self._query_ids = itertools.count(4_000_000_000_000_000_001, 7919)
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._descriptions: dict[tuple[str, str], str] = {}
        handlers: dict[str, Callable[[Params], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "logOut": self._acknowledge,
            "close": self._acknowledge,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendChatAction": self._send_chat_action,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": self._set_my_description,
            "getMyDescription": self._get_my_description,
            "setMyShortDescription": self._set_my_short_description,
            "getMyShortDescription": self._get_my_short_description,
        }
        # Telegram matches method names case-insensitively.
        self._methods = {name.lower(): (name, handler) for name, handler in handlers.items()}

    # ---- for tests, the console and benchmarks ----------------------------------------------

    def request(self, *, read_timeout: float | None = 5.0) -> LocalTelegramRequest:
        """A new PTB request object that calls this Telegram in-process."""
        return LocalTelegramRequest(self, read_timeout=read_timeout)

    def user(
        self,
        user_id: int,
        first_name: str = "Alex",
        *,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> LocalUser:
        """The user with this id (created on first use; later calls return the same handle)."""
        existing = self._users.get(user_id)
        if existing is not None:
            return existing
        if user_id <= 0:
            raise ValueError("user ids are positive numbers")
        chat = Chat(Profile(user_id, first_name, username, language_code))
        user = self._users[user_id] = LocalUser(self, chat)
        return user

    def add_listener(self, listener: Listener) -> None:
        """Call `listener(event)` for everything the bot makes visible in any chat."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling a listener added before."""
        self._listeners.remove(listener)

    def inject_fault(
        self,
        method: str,
        kind: FaultKind,
        *,
        chat_id: int | None = None,
        times: int = 1,
        retry_after: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` (into `chat_id`, or any chat) fail.

        kind: "server_error" (500), "timeout" (no answer: PTB raises TimedOut), "blocked"
        (403 bot was blocked) or "flood" (429 with `retry_after`). Failed calls deliver nothing.
        """
        self._faults.add(method, kind, chat_id, times, retry_after)

    def inject_random_faults(
        self,
        method: str,
        rates: Mapping[FaultKind, float],
        *,
        retry_after: int = 1,
        seed: int | None = None,
    ) -> None:
        """From now on, make each call of `method` fail now and then, as Telegram sometimes does.

        rates: the probability of each kind per call, e.g. {"server_error": 0.05, "timeout":
        0.02}; an empty mapping stops them. Faults from `inject_fault` come first. `seed`
        makes the failures repeatable; `stats.faults` counts every injected failure by kind.
        """
        self._faults.set_rates(method, rates, retry_after, seed)

    @property
    def pending_update_count(self) -> int:
        """Updates waiting for the bot to fetch and confirm them."""
        return len(self._updates)

    @property
    def commands(self) -> list[JSON]:
        """The bot's default command menu (setMyCommands without scope or language)."""
        return self._commands.get((DEFAULT_SCOPE, ""), [])

    def timestamp(self) -> int:
        """Now, as a Bot API date (Unix seconds from the injected clock)."""
        return int(self.clock.now().timestamp())

    def push_update(self, kind: str, payload: JSON) -> JSON:
        """Queue an update for the bot and wake a waiting poll; returns the update.

        Updates of kinds the bot did not allow (allowed_updates) are dropped, like Telegram does.
        """
        self._last_update_id += 1
        update = {"update_id": self._last_update_id, kind: payload}
        if kind in self._allowed_updates:
            self._updates.append(update)
            self._updates_arrived.notify()
            self._start_webhook_delivery()
        return update

    def redeliver(self, update: JSON) -> None:
        """Queue an update the bot already received again, with its original update_id.

        A bot sees this after a crash before the offset moved on, or a retried webhook.
        Delivered to the next poll that does not confirm past it (a restarted bot's first).
        """
        position = sum(1 for queued in self._updates if queued["update_id"] < update["update_id"])
        self._updates.insert(position, update)
        self._updates_arrived.notify()
        self._start_webhook_delivery()

    def is_answered(self, callback_query_id: str) -> bool:
        """True once the bot has answered this button press (answerCallbackQuery)."""
        return callback_query_id not in self._open_queries

    def open_callback_query(self, chat: Chat, message: ChatMessage) -> str:
        """A new callback query id for a button press; the bot answers it by this id."""
        query_id = str(next(self._query_ids))
        self._open_queries[query_id] = (chat, message)
        return query_id

    # ---- the Bot API ------------------------------------------------------------------------

    async def call(
        self,
        token: str,
        method: str,
        params: Mapping[str, object],
        files: Mapping[str, UploadedFile] | None = None,
    ) -> tuple[int, JSON]:
        """Answer one Bot API call: the HTTP status and the JSON body Telegram would send.

        Raises NoResponse when an injected timeout means the caller gets no answer at all.
        """
        try:
            result = await self._dispatch(token, method, Params(params, files))
        except ApiError as error:
            self.stats.errors[error.status] += 1
            if error.status == 429:
                self.stats.too_many_requests += 1
            return error.status, error.body()
        return 200, {"ok": True, "result": result}

    async def _dispatch(self, token: str, method: str, params: Params) -> Any:
        if self.token is not None and token != self.token:
            raise ApiError(401, "Unauthorized")
        found = self._methods.get(method.lower())
        if found is None:
            raise ApiError(404, "Not Found: method not found")
        name, handler = found
        self.stats.calls[name] += 1
        fault = self._faults.take(name, _chat_id_or_none(params))
        if fault is not None:
            self.stats.faults[fault.kind] += 1
            raise fault.error()
        return await handler(params)

    async def _acknowledge(self, params: Params) -> bool:
        return True

    async def _get_me(self, params: Params) -> JSON:
        return {
            **self.bot.as_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    # ---- updates ----

    async def _get_updates(self, params: Params) -> list[JSON]:
        if self.webhook.url:
            raise ApiError(409, WEBHOOK_CONFLICT)
        offset = params.get_int("offset") or 0
        limit = min(max(params.get_int("limit") or 100, 1), 100)
        timeout = max(params.get_float("timeout") or 0.0, 0.0)
        allowed = params.get_json("allowed_updates", error="can't parse allowed_updates")
        if allowed is not None:
            self._allowed_updates = frozenset(allowed) or DEFAULT_ALLOWED_UPDATES
        self._confirm(offset)

        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_arrived.notify()  # a poll still waiting is superseded by this one
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._updates and (remaining := deadline - loop.time()) > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._updates_arrived.wait()
            if self.webhook.url:
                raise ApiError(409, WEBHOOK_CONFLICT)
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
        return list(itertools.islice(self._updates, limit))

    def _start_webhook_delivery(self) -> None:
        """Start posting queued updates to the webhook, unless that is already under way."""
        if not self.webhook.url or not self._updates:
            return
        if self._webhook_task is not None and not self._webhook_task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop yet: the next update or setWebhook starts it
            return
        self._webhook_task = loop.create_task(self._deliver_to_webhook(), name="local webhook")

    async def _deliver_to_webhook(self) -> None:
        """POST the queued updates one at a time, in order, until none is left.

        A failed POST is retried with a doubling pause; after the last attempt the update is
        dropped and the error shows in getWebhookInfo, as Telegram reports it.
        """
        async with httpx.AsyncClient(timeout=self._webhook_timeout) as client:
            while self.webhook.url and self._updates:
                update = self._updates[0]
                for attempt in range(self._webhook_attempts):
                    if attempt:
                        await asyncio.sleep(self._webhook_backoff * 2 ** (attempt - 1))
                    webhook = self.webhook
                    if not webhook.url:
                        return  # deleted meanwhile: the update waits for getUpdates
                    self.stats.webhook_posts += 1
                    error = await post_update(client, webhook.url, webhook.secret_token, update)
                    if error is None:
                        break
                    webhook.last_error_date = self.timestamp()
                    webhook.last_error_message = error
                else:
                    self.stats.webhook_given_up += 1
                with contextlib.suppress(ValueError):  # dropped meanwhile (drop_pending_updates)
                    self._updates.remove(update)
                    self._delivered(update)

    def _confirm(self, offset: int) -> None:
        """Forget updates below `offset`; a negative offset keeps only the last -offset ones."""
        if offset > 0:
            while self._updates and self._updates[0]["update_id"] < offset:
                self._delivered(self._updates.popleft())
        elif offset < 0:
            while len(self._updates) > -offset:
                self._delivered(self._updates.popleft())

    def _delivered(self, update: JSON) -> None:
        """An update left the queue: whoever waits on its sender's chat checks again."""
        for key, body in update.items():
            sender = body.get("from") if key != "update_id" and isinstance(body, dict) else None
            user = self._users.get(sender["id"]) if isinstance(sender, dict) else None
            if user is not None:
                user.chat.changed.notify()

    async def _set_webhook(self, params: Params) -> bool:
        url = params.get_str("url") or ""
        problem = webhook_url_problem(url) if url else None
        if problem is not None:
            raise bad_request(problem)
        if params.get_bool("drop_pending_updates"):
            self._updates.clear()
        allowed = params.get_json("allowed_updates", error="can't parse allowed_updates")
        if allowed is not None:
            self._allowed_updates = frozenset(allowed) or DEFAULT_ALLOWED_UPDATES
        self.webhook = Webhook(
            url=url,
            secret_token=params.get_str("secret_token") or None,
            max_connections=params.get_int("max_connections") or 40,
            allowed_updates=allowed,
        )
        self._updates_arrived.notify()  # a waiting getUpdates now ends with 409 Conflict
        self._start_webhook_delivery()
        return True

    async def _delete_webhook(self, params: Params) -> bool:
        if params.get_bool("drop_pending_updates"):
            self._updates.clear()
        self.webhook = Webhook()
        return True

    async def _get_webhook_info(self, params: Params) -> JSON:
        info: JSON = {
            "url": self.webhook.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook.url:
            info["max_connections"] = self.webhook.max_connections
            if self.webhook.allowed_updates:
                info["allowed_updates"] = self.webhook.allowed_updates
            if self.webhook.last_error_message is not None:
                info["last_error_date"] = self.webhook.last_error_date
                info["last_error_message"] = self.webhook.last_error_message
        return info

    # ---- sending ----

    async def _send_message(self, params: Params) -> JSON:
        chat = self._target_chat(params)
        text, entities = _formatted(params, "text", "entities")
        if not text:
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
        markup = _reply_markup(params)
        reply_to = _reply_target(chat, params)
        link_preview = params.get_json(
            "link_preview_options", error="can't parse link preview options JSON object"
        )
        self._admit(chat)
        message = self._new_bot_message(
            chat,
            markup,
            text=text,
            entities=entities,
            reply_to=reply_to,
            link_preview_options=link_preview,
        )
        return message.to_api()

    async def _send_photo(self, params: Params) -> JSON:
        return await self._send_file(params, "photo")

    async def _send_document(self, params: Params) -> JSON:
        return await self._send_file(params, "document")

    async def _send_file(self, params: Params, kind: FileKind) -> JSON:
        chat = self._target_chat(params)
        caption, caption_entities = _formatted(params, "caption", "caption_entities")
        if len(caption) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")
        markup = _reply_markup(params)
        reply_to = _reply_target(chat, params)
        self._admit(chat)  # before storing, so refused uploads are not kept
        stored = self._stored_file(params, kind)
        message = self._new_bot_message(
            chat,
            markup,
            attachment=stored,
            caption=caption or None,
            caption_entities=caption_entities,
            reply_to=reply_to,
        )
        return message.to_api()

    def _stored_file(self, params: Params, kind: FileKind) -> StoredFile:
        """The file a send refers to: a new upload, or a file_id the bot got before."""
        upload = params.get_file(kind)
        if upload is not None:
            return self._store_upload(upload, kind)
        reference = params.get_str(kind)
        if not reference:
            raise bad_request(f"there is no {kind} in the request")
        if reference.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        stored = self._files.get(reference)
        if stored is None or stored.kind != kind:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return stored

    def _store_upload(self, upload: UploadedFile, kind: FileKind) -> StoredFile:
        if kind == "document":
            if len(upload.content) > MAX_DOCUMENT_BYTES:
                raise ApiError(413, "Request Entity Too Large")
            return self._files.add_document(upload)
        size = image_size(upload.content)
        if size is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        if len(upload.content) > MAX_PHOTO_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        return self._files.add_photo(upload, *size)

    async def _send_chat_action(self, params: Params) -> bool:
        self._target_chat(params)
        if params.get_str("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def _new_bot_message(self, chat: Chat, markup: JSON | None, **content: Any) -> ChatMessage:
        """Deliver a message from the bot into `chat` and tell the listeners."""
        if markup is not None and "keyboard" in markup:
            chat.keyboard = markup
        elif markup is not None and "remove_keyboard" in markup:
            chat.keyboard = None
        inline = markup if markup is not None and "inline_keyboard" in markup else None
        message = ChatMessage(
            chat.next_message_id(),
            chat.user,
            self.bot,
            self.timestamp(),
            reply_markup=inline,
            **content,
        )
        chat.add(message)
        self.stats.messages_sent += 1
        self._emit(chat, Event("message", chat.id, message))
        return message

    # ---- changing what was sent ----

    async def _edit_message_text(self, params: Params) -> JSON:
        chat, message = self._message_to_edit(params)
        if message.text is None:
            raise bad_request("there is no text in the message to edit")
        text, entities = _formatted(params, "text", "entities")
        if not text:
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
        # Like Telegram: an edit without reply_markup removes the inline keyboard.
        new = Version(text, entities, None, None, _inline_markup(params))
        return self._edit(chat, message, new)

    async def _edit_message_caption(self, params: Params) -> JSON:
        chat, message = self._message_to_edit(params)
        if message.attachment is None:
            raise bad_request("there is no caption in the message to edit")
        caption, caption_entities = _formatted(params, "caption", "caption_entities")
        if len(caption) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")
        new = Version(None, None, caption or None, caption_entities, _inline_markup(params))
        return self._edit(chat, message, new)

    async def _edit_message_reply_markup(self, params: Params) -> JSON:
        chat, message = self._message_to_edit(params)
        new = dataclasses.replace(message.version(), reply_markup=_inline_markup(params))
        return self._edit(chat, message, new)

    def _message_to_edit(self, params: Params) -> tuple[Chat, ChatMessage]:
        if params.get_str("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")  # inline messages are not modelled
        chat = self._target_chat(params)
        message = chat.live_message(params.get_int("message_id"))
        if message is None:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return chat, message

    def _edit(self, chat: Chat, message: ChatMessage, new: Version) -> JSON:
        if new == message.version():
            raise bad_request(NOT_MODIFIED)
        self._admit(chat)
        message.revise(new, self.timestamp())
        self.stats.messages_edited += 1
        self._emit(chat, Event("edit", chat.id, message))
        return message.to_api()

    async def _delete_message(self, params: Params) -> bool:
        chat = self._target_chat(params)
        message = chat.live_message(params.get_int("message_id"))
        if message is None:
            raise bad_request("message to delete not found")
        message.deleted = True
        self.stats.messages_deleted += 1
        self._emit(chat, Event("delete", chat.id, message))
        return True

    async def _answer_callback_query(self, params: Params) -> bool:
        opened = self._open_queries.pop(params.get_str("callback_query_id") or "", None)
        if opened is None:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        chat, message = opened
        text = params.get_str("text") or None
        if text:
            chat.toasts.append(text)
        show_alert = params.get_bool("show_alert")
        self._emit(chat, Event("toast", chat.id, message, text, show_alert))
        return True

    # ---- the bot's profile ----

    async def _set_my_commands(self, params: Params) -> bool:
        commands = params.get_json("commands", error="can't parse commands JSON object")
        if not isinstance(commands, list):
            raise bad_request('parameter "commands" is required')
        menu: list[JSON] = []
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            description = str(command.get("description", "")) if isinstance(command, dict) else ""
            if not COMMAND_NAME.fullmatch(name.removeprefix("/")):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            menu.append({"command": name.removeprefix("/"), "description": description})
        self._commands[_commands_key(params)] = menu
        return True

    async def _get_my_commands(self, params: Params) -> list[JSON]:
        return self._commands.get(_commands_key(params), [])

    async def _delete_my_commands(self, params: Params) -> bool:
        self._commands.pop(_commands_key(params), None)
        return True

    async def _set_my_description(self, params: Params) -> bool:
        return self._set_description(params, "description")

    async def _get_my_description(self, params: Params) -> JSON:
        return self._get_description(params, "description")

    async def _set_my_short_description(self, params: Params) -> bool:
        return self._set_description(params, "short_description")

    async def _get_my_short_description(self, params: Params) -> JSON:
        return self._get_description(params, "short_description")

    def _set_description(self, params: Params, kind: str) -> bool:
        key = (kind, params.get_str("language_code") or "")
        self._descriptions[key] = params.get_str(kind) or ""
        return True

    def _get_description(self, params: Params, kind: str) -> JSON:
        language = params.get_str("language_code") or ""
        return {kind: self._descriptions.get((kind, language), "")}

    # ---- shared rules ----

    def _target_chat(self, params: Params) -> Chat:
        """The chat a call writes into; 400 if the bot cannot see it, 403 if it is blocked."""
        raw = params.get_str("chat_id")
        if not raw:
            raise bad_request("chat_id is empty")
        try:
            user = self._users.get(int(raw))
        except ValueError:
            raise bad_request("chat not found") from None
        chat = user.chat if user is not None else None
        if chat is not None and chat.blocked:
            raise forbidden("bot was blocked by the user")
        if chat is None or not chat.opened:
            raise bad_request("chat not found")
        return chat

    def _admit(self, chat: Chat) -> None:
        """Apply flood control to a send or edit into `chat` (when switched on)."""
        if self.flood_limits:
            retry_after = self.flood.admit(chat.id)
            if retry_after is not None:
                raise too_many_requests(retry_after)

    def _emit(self, chat: Chat, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken console must not break the bot's call
                logger.exception("local Telegram listener %r failed on %s", listener, event)
        chat.changed.notify()


def _bot_id_from_token(token: str | None) -> int:
    prefix = (token or "").partition(":")[0]
    return int(prefix) if prefix.isdigit() else DEFAULT_BOT_ID


def _chat_id_or_none(params: Params) -> int | None:
    raw = params.get_str("chat_id")
    return int(raw) if raw and raw.lstrip("-").isdigit() else None


def _commands_key(params: Params) -> tuple[str, str]:
    """Which command menu a call is about: its scope (as canonical JSON) and language."""
    scope = params.get_json("scope", error="can't parse BotCommandScope JSON object")
    canonical = json.dumps(scope, sort_keys=True) if scope else DEFAULT_SCOPE
    return canonical, params.get_str("language_code") or ""


def _formatted(
    params: Params, text_field: str, entities_field: str
) -> tuple[str, list[JSON] | None]:
    """The text of `text_field` after markup parsing and trimming, with its entities."""
    text = params.get_str(text_field) or ""
    entities = params.get_json(entities_field, error="can't parse entities JSON object")
    parse_mode = params.get_str("parse_mode")
    if not entities and parse_mode:
        if parse_mode.lower() not in formatting.PARSE_MODES:
            raise bad_request("unsupported parse_mode")
        try:
            text, entities = formatting.parse(text, parse_mode)
        except formatting.MarkupError as error:
            raise bad_request(f"can't parse entities: {error}") from None
    text, entities = formatting.trim(text, entities or [])
    return text, entities or None


def _reply_markup(params: Params) -> JSON | None:
    """The reply_markup of a send, checked the way Telegram checks it."""
    markup = params.get_json("reply_markup", error="can't parse reply keyboard markup JSON object")
    if markup is None:
        return None
    if not isinstance(markup, dict) or not (
        {"inline_keyboard", "keyboard", "remove_keyboard", "force_reply"} & markup.keys()
    ):
        raise bad_request("can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            _check_inline_button(button)
    return markup


def _inline_markup(params: Params) -> JSON | None:
    """The reply_markup of an edit: only an inline keyboard (or nothing) is allowed."""
    markup = _reply_markup(params)
    if markup is not None and "inline_keyboard" not in markup:
        raise bad_request("inline keyboard expected")
    return markup


def _check_inline_button(button: object) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request("can't parse inline keyboard button: Text must be non-empty")
    if not INLINE_BUTTON_ACTIONS & button.keys():
        raise bad_request("text buttons are unallowed in the inline keyboard")
    data = button.get("callback_data")
    if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
        raise bad_request("BUTTON_DATA_INVALID")


def _reply_target(chat: Chat, params: Params) -> ChatMessage | None:
    """The message a send replies to, if it asks to reply to one."""
    reply = params.get_json("reply_parameters", error="can't parse reply parameters JSON object")
    if not isinstance(reply, dict):
        legacy_id = params.get_int("reply_to_message_id")
        if legacy_id is None:
            return None
        reply = {
            "message_id": legacy_id,
            "allow_sending_without_reply": params.get_bool("allow_sending_without_reply"),
        }
    message_id = reply.get("message_id")
    target = chat.live_message(message_id if isinstance(message_id, int) else None)
    if target is None and not reply.get("allow_sending_without_reply"):
        raise bad_request("message to be replied not found")
    return target
