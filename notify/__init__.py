"""Notifications: the outbox (e-mail, SMS), its dispatcher, reminders and signed confirm/decline links.

A top-level package (like `ledger/`) because draws, reminders, check-in and A/V alerts all send
through it; it depends on the scheduler only to read seats and to trigger a replacement on decline.
E-mail is real (SMTP); SMS is SIMULATED by `LogSmsChannel` until a gateway is plugged in behind the
same `Channel` interface (see notify.channels). Before an evaluation starts nothing stored in clear
here links an expert to a project (rule D5): addresses, experts and bodies are sealed.
"""
