"""The procurement clerk's side of the command line: `rxedge procurement watch` (requests as
they arrive, `watch`) and `rxedge procurement status` (the centre's answer about one request,
and the gateway's word on it, `status`), registered by `commands`."""
