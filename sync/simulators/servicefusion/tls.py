"""A throwaway certificate authority and server certificate so the simulator speaks HTTPS on loopback.
Clients verify the server against ``ca_path`` (the CA's PEM), exactly as they would verify the real host.
One CA and one leaf certificate are made per process (``trustme`` keys are quick, but not free).
"""

from __future__ import annotations

import atexit
import os
import ssl
import tempfile
import threading

import trustme

_lock = threading.Lock()
_material: tuple[trustme.CA, trustme.LeafCert, str] | None = None


def _cleanup(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def tls_material() -> tuple[trustme.CA, trustme.LeafCert, str]:
    """The process-wide CA, a leaf certificate for 127.0.0.1/localhost, and the CA PEM's file path."""
    global _material
    with _lock:
        if _material is None:
            ca = trustme.CA(organization_name="GreenLight simulator CA")
            leaf = ca.issue_cert("127.0.0.1", "localhost", "::1")
            fd, path = tempfile.mkstemp(prefix="sf-sim-ca-", suffix=".pem")
            os.close(fd)
            ca.cert_pem.write_to_path(path)
            atexit.register(_cleanup, path)
            _material = (ca, leaf, path)
        return _material


def server_context() -> tuple[ssl.SSLContext, str]:
    """An SSL server context with the leaf certificate loaded, and the CA PEM path clients trust."""
    _ca, leaf, ca_path = tls_material()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    leaf.configure_cert(ctx)
    return ctx, ca_path
