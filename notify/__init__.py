"""The notification outbox: sealed messages, channels (e-mail, SMS), signed links, composition, dispatch.

A foundation the evaluation writes to (invitations and reminders are `evaluation.invitations`); the pages
that need evaluations (RSVP, `/me`) are `portal/`. Imports only `config` and `ledger`.
E-mail is real (SMTP); SMS is SIMULATED by `LogSmsChannel` until a gateway is plugged in behind the
same `Channel` interface (see notify.channels). Before an evaluation starts nothing stored in clear
here links an expert to a project (rule D5): addresses, experts and bodies are sealed.
"""
