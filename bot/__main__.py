"""`python -m bot` is the same as the `glutebot` command."""

from bot.cli import main

main()
