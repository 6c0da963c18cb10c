"""The daily run: who is due, candidate pools, editions, rendering, sending, dispatch, and
delivery status from ESP events. The statements that exist for speed live in `storage`."""
