"""Reader PINs: salted scrypt hashes, never the PIN itself, and a slowdown after failures."""

from __future__ import annotations

import hashlib
import hmac
import secrets

# scrypt cost: ~16 MiB and a few tens of milliseconds per check, plenty for a 4-8 digit PIN
# behind an exponential delay, cheap enough for a login screen.
_N, _R, _P = 2**14, 8, 1
_PREFIX = "scrypt"

FAILURE_DELAY_BASE_S = 0.5
"""Delay after the first failed login; it doubles with every further consecutive failure."""
FAILURE_DELAY_MAX_S = 60.0


def _derive(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 2**20, dklen=32)


def check_pin_format(pin: str) -> str:
    """A PIN is 4 to 32 characters without surrounding spaces; raise ValueError otherwise."""
    if not isinstance(pin, str):
        raise TypeError(f"a PIN is a string, got {type(pin).__name__}")
    if len(pin) < 4 or len(pin) > 32 or pin.strip() != pin:
        raise ValueError("a PIN has 4 to 32 characters and no leading or trailing spaces")
    return pin


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """``scrypt$n$r$p$<salt hex>$<hash hex>`` for storage."""
    check_pin_format(pin)
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = _derive(pin, salt, _N, _R, _P)
    return f"{_PREFIX}${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    """Constant-time check of ``pin`` against a :func:`hash_pin` string."""
    try:
        prefix, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        raise ValueError("stored PIN hash is malformed (expected scrypt$n$r$p$salt$hash)") from None
    if prefix != _PREFIX:
        raise ValueError(f"stored PIN hash uses {prefix!r}, expected {_PREFIX!r}")
    candidate = _derive(pin, bytes.fromhex(salt), int(n), int(r), int(p))
    return hmac.compare_digest(candidate, bytes.fromhex(digest))


def failure_delay(consecutive_failures: int) -> float:
    """Seconds to wait before answering a login after that many consecutive failures."""
    if consecutive_failures <= 0:
        return 0.0
    return min(FAILURE_DELAY_BASE_S * 2.0 ** (consecutive_failures - 1), FAILURE_DELAY_MAX_S)
