"""GOST operations an ESIA login costs, through OpenSSL's GOST engine (subprocess).

Run ``.venv/bin/python bench/esia_gost.py [--rounds N]``. Prints the median wall time
of each operation one ESIA signature needs: two detached CMS signatures (authorize and
token requests, ``client_secret``), two ``client_certificate_hash`` digests, and one ID
token check (raw GOST R 34.10-2012 verification with ESIA's certificate).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from medsign.identity import gost


def _median_ms(run: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    rounds = parser.parse_args().rounds
    clinic, esia = gost.new_credential("bench clinic"), gost.new_credential("bench ESIA")
    text = b"openid fullname birthdate snils2026.12.04 09:30:00 +0000MEDSIGN" + b"0" * 36
    der = gost.sign_detached_cms(clinic, text)
    token = b"eyJhbGciOiJHT1NUMzQxMF8yMDEyXzI1NiJ9." + b"x" * 400
    sig = gost.sign_raw(esia.private_key_pem, token)
    cases: list[tuple[str, Callable[[], object]]] = [
        ("client_secret (CMS sign)", lambda: gost.sign_detached_cms(clinic, text)),
        ("client_certificate_hash", lambda: gost.certificate_hash(clinic.certificate_pem)),
        ("ID token (GOST verify)", lambda: gost.verify_raw(esia.certificate_pem, token, sig)),
        (
            "CMS verify (peer side)",
            lambda: gost.verify_detached_cms(der, text, clinic.certificate_pem),
        ),
    ]
    total = 0.0
    for name, run in cases:
        ms = _median_ms(run, rounds)
        total += ms * (2 if name.startswith("client") else 1 if name.startswith("ID") else 0)
        print(f"{name:28} {ms:7.2f} ms (median of {rounds})")
    print(f"{'per ESIA login (medsign)':28} {total:7.2f} ms")


if __name__ == "__main__":
    main()
