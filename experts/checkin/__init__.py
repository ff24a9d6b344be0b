"""Expert check-in at room terminals: challenge, liveness, 1:1 face match, seat check, sign-off."""
