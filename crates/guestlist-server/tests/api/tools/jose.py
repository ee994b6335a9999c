"""An independent JOSE implementation for the identity tests (PyJWT + cryptography).

  jose.py keys DIR KID:KIND...   makes keys (KIND: rsa, ec, ed), writes DIR/KID.pem and
                                 DIR/KID.pub.pem, prints their public JWKS
  jose.py sign DIR < REQUESTS    prints a JSON list of tokens, one per request:
      {"kid": ..., "alg": ..., "claims": {...}, "mode": "normal" | "none" | "hs_with_public",
       "header_kid": <kid to put in the header, default kid; null leaves it out>,
       "extra_headers": {...} (more protected header fields, e.g. "crit")}
"""
import base64
import hashlib
import hmac
import json
import sys

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def keys(folder, specs):
    out = []
    for spec in specs:
        kid, kind = spec.split(":")
        if kind == "rsa":
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            jwk, alg = json.loads(RSAAlgorithm.to_jwk(key.public_key())), "RS256"
        elif kind == "ec":
            key = ec.generate_private_key(ec.SECP256R1())
            jwk, alg = json.loads(ECAlgorithm.to_jwk(key.public_key())), "ES256"
        elif kind == "ed":
            key = ed25519.Ed25519PrivateKey.generate()
            jwk, alg = json.loads(OKPAlgorithm.to_jwk(key.public_key())), "EdDSA"
        else:
            raise SystemExit(f"unknown key kind {kind}")
        with open(f"{folder}/{kid}.pem", "wb") as f:
            f.write(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
        with open(f"{folder}/{kid}.pub.pem", "wb") as f:
            f.write(
                key.public_key().public_bytes(
                    serialization.Encoding.PEM,
                    serialization.PublicFormat.SubjectPublicKeyInfo,
                )
            )
        jwk.update(kid=kid, use="sig", alg=alg)
        out.append(jwk)
    print(json.dumps({"keys": out}))


def sign(folder, req):
    kid, alg, claims = req["kid"], req["alg"], req["claims"]
    header_kid = req.get("header_kid", kid)
    mode = req.get("mode", "normal")
    headers = {} if header_kid is None else {"kid": header_kid}
    headers.update(req.get("extra_headers", {}))
    if mode == "normal":
        with open(f"{folder}/{kid}.pem", "rb") as f:
            key = f.read()
        return jwt.encode(claims, key, algorithm=alg, headers=headers)
    header = {"alg": "none" if mode == "none" else "HS256", "typ": "JWT", **headers}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    if mode == "none":
        return signing_input + "."
    if mode == "hs_with_public":
        # The classic confusion: HMAC keyed with the RSA public key's PEM.
        with open(f"{folder}/{kid}.pub.pem", "rb") as f:
            secret = f.read()
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64(mac)}"
    raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    if sys.argv[1] == "keys":
        keys(sys.argv[2], sys.argv[3:])
    elif sys.argv[1] == "sign":
        print(json.dumps([sign(sys.argv[2], r) for r in json.load(sys.stdin)]))
    else:
        raise SystemExit(f"unknown command {sys.argv[1]}")
