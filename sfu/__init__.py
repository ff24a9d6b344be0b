"""The SFU back end's own parts: the Janus client, the SDP bridge for WHEP, Janus's configuration,
and the state every service process shares (the Janus sessions and mountpoints, as rows).

Imports no other package of the project and no web framework: `av_monitor.sfu_hub`, above it, puts these parts
behind the hub's interface that the WHIP/WHEP views call.
"""
