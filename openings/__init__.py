"""Public live bid openings (开标直播): a bid-opening room watched by anyone holding its link, for a window.

Only a room whose purpose is `opening` can be made public, and such a room never seats a committee
(the draw is offered evaluation rooms only). Imports `config`, `ledger`, `access`, `venues` and
`evaluation` (to refuse a room that holds an evaluation); the live side (anonymous WHEP viewers) is
`av_monitor.public_views`, above this package.
"""
