"""Print ordinary lines and `@tradeday {json}` protocol lines, then exit 0."""
import json

print("hello from protocol", flush=True)
print("@tradeday " + json.dumps({"event": "fill", "symbol": "INFY", "side": "BUY", "quantity": 5}), flush=True)
print("in between", flush=True)
print("@tradeday " + json.dumps({"event": "message", "level": "warning", "title": "t", "message": "m"}), flush=True)
print("goodbye", flush=True)
