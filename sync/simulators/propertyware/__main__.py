"""``python -m sync.simulators.propertyware``: print the WSDL (the copy bundled with the client)."""

import sys

from .wsdl import build_wsdl

sys.stdout.buffer.write(build_wsdl())
