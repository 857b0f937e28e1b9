"""Python peer of the Mesh Encryption benchmark: `cryptography`'s AESGCM and Fernet, timed in this process.

Line protocol on stdin/stdout (one JSON object per line), so the Node harness can alternate its own rounds
with this process's rounds (A B A B) while both stay warm:
  {"cmd": "hello"}                              -> {"ok": true, "python": ..., "cryptography": ..., "openssl": ...}
  {"cmd": "round", "size": N, "slice_ms": T}    -> {"ok": true, "rates": {"aesgcm_encrypt": ops/s, ...}}
  {"cmd": "quit"}
Every candidate runs in batches for T ms of this process's CPU time (time.process_time, as the Node side
uses process.cpuUsage, so that being descheduled on a shared machine costs neither side); "rates" are
calls per CPU second and "rates_wall" calls per wall-clock second of the same loop.
A missing `cryptography` answers hello with {"ok": false, "error": ...}.
"""
import json
import os
import sys
import time


def main() -> None:
    try:
        import cryptography
        from cryptography.fernet import Fernet
        from cryptography.hazmat.backends.openssl.backend import backend
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except Exception as e:  # noqa: BLE001 - reported to the harness, which marks the peer absent
        print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}), flush=True)
        return
    aes = AESGCM(AESGCM.generate_key(bit_length=256))
    fernet = Fernet(Fernet.generate_key())
    prepared = {}

    def prepare(size):
        if size not in prepared:
            data = os.urandom(size)
            nonce = os.urandom(12)
            prepared[size] = (data, nonce, aes.encrypt(nonce, data, None), fernet.encrypt(data))
        return prepared[size]

    def rate(fn, slice_s):
        # Batches sized to ~0.2 ms so clock reads are amortised; at least one call.
        t0 = time.perf_counter()
        fn()
        once = max(time.perf_counter() - t0, 1e-7)
        batch = max(1, int(0.0002 / once))
        calls, t0, c0 = 0, time.perf_counter(), time.process_time()
        while True:
            for _ in range(batch):
                fn()
            calls += batch
            cpu = time.process_time() - c0
            if cpu >= slice_s:
                return calls / cpu, calls / (time.perf_counter() - t0)

    for line in sys.stdin:
        msg = json.loads(line)
        cmd = msg.get("cmd")
        if cmd == "hello":
            print(json.dumps({
                "ok": True,
                "python": sys.version.split()[0],
                "cryptography": cryptography.__version__,
                "openssl": backend.openssl_version_text(),
            }), flush=True)
        elif cmd == "round":
            size, slice_s = int(msg["size"]), float(msg["slice_ms"]) / 1000
            data, nonce, sealed, token = prepare(size)

            def gcm_enc():
                n = os.urandom(12)
                aes.encrypt(n, data, None)

            candidates = [
                ("aesgcm_encrypt", gcm_enc),
                ("aesgcm_decrypt", lambda: aes.decrypt(nonce, sealed, None)),
                ("fernet_encrypt", lambda: fernet.encrypt(data)),
                ("fernet_decrypt", lambda: fernet.decrypt(token)),
            ]
            shift = int(msg.get("round", 0)) % len(candidates)
            order = candidates[shift:] + candidates[:shift]
            measured = {name: rate(fn, slice_s) for name, fn in order}
            rates = {name: r[0] for name, r in measured.items()}
            rates_wall = {name: r[1] for name, r in measured.items()}
            print(json.dumps({"ok": True, "rates": rates, "rates_wall": rates_wall}), flush=True)
        elif cmd == "quit":
            return
        else:
            print(json.dumps({"ok": False, "error": f"unknown command {cmd!r}"}), flush=True)


if __name__ == "__main__":
    main()
