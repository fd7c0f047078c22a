"""Real servers on 127.0.0.1 that stand in for outside services in tests.

- ``kite_server.FakeKiteServer``: the Kite Connect REST API (profile, trades, errors, hang).
- ``tws_server.FakeTWS``: a TWS / IB Gateway API peer.
- ``http_recorder.HttpRecorder``: an HTTP server that records requests and replies as told.
- ``ports.free_port``: a port on 127.0.0.1 that nothing listens on (just now).

Import the module you need (``from tests.fakes.kite_server import FakeKiteServer``);
this package imports nothing itself so that each fake stays cheap to load.
"""
