"""How the local Telegram posts an update to a bot's webhook, and which webhook URLs it takes.

Like Telegram: one HTTPS POST per update, a JSON body, the secret token (if the bot set one)
in the X-Telegram-Bot-Api-Secret-Token header, and any 2xx answer counts as delivered.
Plain http:// is accepted for loopback addresses only, as a self-hosted Bot API server in
--local mode accepts it, so a bot on this machine can be tested without certificates.
"""

from __future__ import annotations

import ipaddress
import json
from urllib.parse import urlsplit

import httpx

from bot.localtelegram.protocol import JSON

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
LOOPBACK_NAMES = frozenset({"localhost"})


def webhook_url_problem(url: str) -> str | None:
    """Why Telegram would refuse this webhook URL (its own wording), or None if it is fine."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return None
    return "bad webhook: An HTTPS URL must be provided for webhook"


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def post_update(
    client: httpx.AsyncClient, url: str, secret_token: str | None, update: JSON
) -> str | None:
    """POST one update to the webhook; None when it was taken, else Telegram's error text."""
    headers = {"Content-Type": "application/json"}
    if secret_token:
        headers[SECRET_HEADER] = secret_token
    try:
        response = await client.post(url, content=json.dumps(update), headers=headers)
    except httpx.ConnectError:
        return "Connection refused"
    except httpx.TimeoutException:
        return "Read timeout expired"
    except httpx.HTTPError as error:
        return f"Failed to connect: {error.__class__.__name__}"
    if 200 <= response.status_code < 300:
        return None
    return f"Wrong response from the webhook: {response.status_code} {response.reason_phrase}"
