#!/usr/bin/env python3
"""A NOMYO client in the style of the Python `nomyo` 0.1.x client, for interop tests.

Like that client it generates an RSA key pair, fetches the router key from /pki/public_key,
serializes the request with json.dumps (default separators), seals it with AES-256-GCM
(cryptography's Cipher/GCM, tag sent apart) and RSA-OAEP-SHA256, and sends it with a uuid4
X-Payload-ID and the PEM public key quoted by urllib.parse.quote. It decrypts the answer, sets
_metadata as the client does, and prints the result as JSON on stdout.

    python3 python_client.py URL [--message TEXT] [--model M] [--api-key KEY]
                             [--security-tier TIER] [--tools] [--key-size 2048|4096]

Exit status 0 on success; 1 with {"error": {"status": ..., "detail": ...}} on stdout when the
router answered an error; 2 on a local failure. Plain http:// is allowed: local tests only.
"""

import argparse
import base64
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


class SecurityError(Exception):
    pass


class APIError(Exception):
    def __init__(self, status, detail):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def oaep():
    return padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


class SecureCompletionClient:
    def __init__(self, router_url, api_key=None, key_size=4096):
        self.router_url = router_url.rstrip("/")
        self.api_key = api_key
        self.key_size = key_size
        self.private_key = None
        self.public_key_pem = None

    def generate_keys(self):
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=self.key_size)
        self.public_key_pem = self.private_key.public_key().public_bytes(
            encoding=serialization.Encoding.PEM,
            format=serialization.PublicFormat.SubjectPublicKeyInfo,
        ).decode("utf-8")

    def fetch_server_public_key(self):
        with urllib.request.urlopen(self.router_url + "/pki/public_key", timeout=30) as response:
            pem = response.read()
        key = serialization.load_pem_public_key(pem)
        if not isinstance(key, rsa.RSAPublicKey) or key.key_size < 2048:
            raise SecurityError("router key is not RSA of at least 2048 bits")
        return key

    def encrypt_payload(self, payload):
        payload_json = json.dumps(payload).encode("utf-8")
        aes_key = os.urandom(32)
        nonce = os.urandom(12)
        encryptor = Cipher(algorithms.AES(aes_key), modes.GCM(nonce)).encryptor()
        ciphertext = encryptor.update(payload_json) + encryptor.finalize()
        tag = encryptor.tag
        encrypted_aes_key = self.fetch_server_public_key().encrypt(aes_key, oaep())
        package = {
            "version": "1.0",
            "algorithm": "hybrid-aes256-rsa4096",
            "encrypted_payload": {
                "ciphertext": base64.b64encode(ciphertext).decode("utf-8"),
                "nonce": base64.b64encode(nonce).decode("utf-8"),
                "tag": base64.b64encode(tag).decode("utf-8"),
            },
            "encrypted_aes_key": base64.b64encode(encrypted_aes_key).decode("utf-8"),
            "key_algorithm": "RSA-OAEP-SHA256",
            "payload_algorithm": "AES-256-GCM",
        }
        return json.dumps(package).encode("utf-8")

    def decrypt_response(self, encrypted_response, payload_id):
        try:
            package = json.loads(encrypted_response.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise SecurityError("response is not a JSON package")
        for field in ("version", "algorithm", "encrypted_payload", "encrypted_aes_key"):
            if field not in package:
                raise SecurityError("missing field " + field)
        if package["version"] != "1.0" or package["algorithm"] != "hybrid-aes256-rsa4096":
            raise SecurityError("unsupported version or algorithm")
        payload = package["encrypted_payload"]
        nonce = base64.b64decode(payload["nonce"], validate=True)
        tag = base64.b64decode(payload["tag"], validate=True)
        if len(nonce) != 12 or len(tag) != 16:
            raise SecurityError("bad nonce or tag length")
        try:
            aes_key = self.private_key.decrypt(base64.b64decode(package["encrypted_aes_key"], validate=True), oaep())
            if len(aes_key) != 32:
                raise ValueError("key length")
            decryptor = Cipher(algorithms.AES(aes_key), modes.GCM(nonce, tag)).decryptor()
            plaintext = decryptor.update(base64.b64decode(payload["ciphertext"], validate=True)) + decryptor.finalize()
        except Exception:
            raise SecurityError("decryption failed")
        response = json.loads(plaintext.decode("utf-8"))
        metadata = response.get("_metadata") if isinstance(response.get("_metadata"), dict) else {}
        metadata.update({
            "payload_id": payload_id,
            "processed_at": package.get("processed_at"),
            "is_encrypted": True,
            "encryption_algorithm": package["algorithm"],
            "response_status": "success",
        })
        response["_metadata"] = metadata
        return response

    def send_secure_request(self, payload, payload_id, security_tier=None):
        if self.private_key is None:
            self.generate_keys()
        body = self.encrypt_payload(payload)
        headers = {
            "Content-Type": "application/octet-stream",
            "X-Payload-ID": payload_id,
            "X-Public-Key": urllib.parse.quote(self.public_key_pem),
        }
        if self.api_key:
            headers["Authorization"] = "Bearer " + self.api_key
        if security_tier:
            headers["X-Security-Tier"] = security_tier
        request = urllib.request.Request(
            self.router_url + "/v1/chat/secure_completion", data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return self.decrypt_response(response.read(), payload_id)
        except urllib.error.HTTPError as error:
            raw = error.read().decode("utf-8", "replace")
            try:
                detail = json.loads(raw).get("detail", raw)
            except (ValueError, AttributeError):
                detail = raw
            raise APIError(error.code, detail)


def main():
    parser = argparse.ArgumentParser(description="NOMYO client in the style of nomyo 0.1.x")
    parser.add_argument("url")
    parser.add_argument("--message", default="Hello from Python!")
    parser.add_argument("--model", default="Qwen/Qwen3-0.6B")
    parser.add_argument("--api-key")
    parser.add_argument("--security-tier")
    parser.add_argument("--tools", action="store_true")
    parser.add_argument("--key-size", type=int, choices=(2048, 4096), default=4096)
    args = parser.parse_args()
    payload = {
        "model": args.model,
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": args.message},
        ],
        "temperature": 0.7,
    }
    if args.tools:
        payload["tools"] = [{
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Get weather information",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }]
    client = SecureCompletionClient(args.url, api_key=args.api_key, key_size=args.key_size)
    try:
        result = client.send_secure_request(payload, str(uuid.uuid4()), args.security_tier)
    except APIError as error:
        print(json.dumps({"error": {"status": error.status, "detail": error.detail}}))
        return 1
    except (SecurityError, OSError, ValueError) as error:
        print(json.dumps({"error": {"status": None, "detail": str(error)}}))
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
