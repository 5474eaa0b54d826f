"""Proxy mode: chargespec between a charger and the operator's CSMS, relaying frames unchanged while judging them.

Modules: relay (one relayed connection: record, judge, pass on; injected calls), upstream (the connection to
the target under the charger's identity: subprotocol, Basic auth, TLS, profile 3 client certificate),
harness (the CSMS harness with relaying instead of answering), timing (response times per action and side),
steps (the proxy-mode statements), serve (`chargespec proxy`). See docs/proxy.md.
"""

from runner.proxy.harness import ProxyHarness, proxy_usage
from runner.proxy.relay import RelaySession

__all__ = ["ProxyHarness", "RelaySession", "proxy_usage"]
