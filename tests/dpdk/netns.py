"""The namespace pair the dpdk tests run in: one module with the load
harness, loadtest/zcload/netns.py (loadtest/run --path veth and its dpdk
backends use the same pair). Re-exported here so the tests keep their
`import netns`."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "loadtest"))

from zcload.netns import (ADMIN_CLIENT_ADDR, ADMIN_SERVER_ADDR, CLIENT_ADDR, PREFIX,  # noqa: E402,F401
                          SERVER_ADDR, Pair, call_in,
                          connect_in, run, unavailable)
