#!/usr/bin/env python3
"""An independent NOMYO router, written from PROTOCOL.md alone, for interop tests.

It shares no code with the TypeScript library: pyca/cryptography does the cryptography and
http.server the HTTP. It serves the two endpoints of the protocol on 127.0.0.1 and answers every
completion with an echo model ("Echo: " + the last user message), sealed to the caller's
X-Public-Key.

    python3 independent_router.py [--port N] [--key-size 2048|4096] [--api-key KEY] [--tpm]

It prints exactly "listening on http://127.0.0.1:N" on stdout once it serves, and stops on
SIGTERM or SIGINT. TEST USE ONLY: it decrypts what it receives.
"""

import argparse
import base64
import binascii
import hashlib
import json
import os
import re
import signal
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "1.0"
ALGORITHM = "hybrid-aes256-rsa4096"
KEY_ALGORITHM = "RSA-OAEP-SHA256"
PAYLOAD_ALGORITHM = "AES-256-GCM"
TIERS = ("standard", "high", "maximum")
MAX_BODY = 16 * 1024 * 1024
OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
STRICT_B64 = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")


class Refused(Exception):
    """An error answer: HTTP status and detail."""

    def __init__(self, status, detail):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def b64decode_strict(value, name, length=None):
    """Standard padded base64, canonical (re-encodes to itself), of an exact length if given."""
    if not isinstance(value, str) or not STRICT_B64.match(value):
        raise Refused(400, f"Cannot decrypt payload: {name} is not base64")
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error:
        raise Refused(400, f"Cannot decrypt payload: {name} is not base64")
    if base64.b64encode(raw).decode("ascii") != value:
        raise Refused(400, f"Cannot decrypt payload: {name} is not canonical base64")
    if length is not None and len(raw) != length:
        raise Refused(400, f"Cannot decrypt payload: {name} is not {length} bytes")
    return raw


def open_request(body, private_key):
    """Checks the request package field by field, then unwraps the key and opens the payload."""
    try:
        pkg = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "Cannot decrypt payload: the body is not a JSON package")
    if not isinstance(pkg, dict):
        raise Refused(400, "Cannot decrypt payload: the body is not a JSON object")
    expected = {
        "version": VERSION,
        "algorithm": ALGORITHM,
        "key_algorithm": KEY_ALGORITHM,
        "payload_algorithm": PAYLOAD_ALGORITHM,
    }
    for field, value in expected.items():
        if pkg.get(field) != value:
            raise Refused(400, f"Cannot decrypt payload: {field} must be {value}")
    payload = pkg.get("encrypted_payload")
    if not isinstance(payload, dict):
        raise Refused(400, "Cannot decrypt payload: encrypted_payload is missing")
    ciphertext = b64decode_strict(payload.get("ciphertext"), "ciphertext")
    nonce = b64decode_strict(payload.get("nonce"), "nonce", 12)
    tag = b64decode_strict(payload.get("tag"), "tag", 16)
    wrapped = b64decode_strict(pkg.get("encrypted_aes_key"), "encrypted_aes_key")
    try:
        aes_key = private_key.decrypt(wrapped, OAEP)
        if len(aes_key) != 32:
            raise ValueError("AES key is not 32 bytes")
        return AESGCM(aes_key).decrypt(nonce, ciphertext + tag, None)
    except (ValueError, InvalidTag):
        # One message for every cryptographic failure: no decryption oracle.
        raise Refused(400, "Cannot decrypt payload: decryption failed")


def seal(plaintext, recipient):
    """Seals bytes to an RSA public key: fresh AES-256 key and nonce, tag sent apart."""
    aes_key = os.urandom(32)
    nonce = os.urandom(12)
    sealed = AESGCM(aes_key).encrypt(nonce, plaintext, None)
    b64 = lambda b: base64.b64encode(b).decode("ascii")
    return {
        "version": VERSION,
        "algorithm": ALGORITHM,
        "encrypted_payload": {
            "ciphertext": b64(sealed[:-16]),
            "nonce": b64(nonce),
            "tag": b64(sealed[-16:]),
        },
        "encrypted_aes_key": b64(recipient.encrypt(aes_key, OAEP)),
        "key_algorithm": KEY_ALGORITHM,
        "payload_algorithm": PAYLOAD_ALGORITHM,
        "processed_at": int(time.time()),
    }


def content_text(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            p["text"] for p in content
            if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
        )
    return ""


def words(text):
    return len(text.split())


def echo_completion(request, payload_id, tier):
    """The echo model: "Echo: " + the last user message, or a call of the first tool."""
    if not isinstance(request, dict) or not isinstance(request.get("model"), str):
        raise Refused(400, "Invalid request: model must be a string")
    messages = request.get("messages")
    if not isinstance(messages, list):
        raise Refused(400, "Invalid request: messages must be an array")
    n = request.get("n")
    n = 1 if n is None else n
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 128:
        raise Refused(400, "Invalid request: n must be an integer from 1 to 128")
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    user_text = content_text(users[-1].get("content")) if users else ""
    digest = hashlib.sha256(payload_id.encode("utf-8")).hexdigest()
    tools = request.get("tools")
    tool = None
    if isinstance(tools, list) and tools and request.get("tool_choice") != "none":
        choice = request.get("tool_choice")
        if isinstance(choice, dict) and isinstance(choice.get("function"), dict) \
                and isinstance(choice["function"].get("name"), str):
            tool = choice["function"]["name"]
        elif isinstance(tools[0], dict) and isinstance(tools[0].get("function"), dict) \
                and isinstance(tools[0]["function"].get("name"), str):
            tool = tools[0]["function"]["name"]
    echo = "Echo: " + user_text
    choices = []
    completion_tokens = 0
    for index in range(n):
        if index == 0 and tool is not None:
            args = json.dumps({"echo": user_text}, separators=(",", ":"), ensure_ascii=False)
            completion_tokens += words(args)
            choices.append({
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{
                        "id": "call_" + digest[12:36],
                        "type": "function",
                        "function": {"name": tool, "arguments": args},
                    }],
                },
                "finish_reason": "tool_calls",
            })
        else:
            completion_tokens += words(echo)
            choices.append({
                "index": index,
                "message": {"role": "assistant", "content": echo},
                "finish_reason": "stop",
            })
    prompt_tokens = sum(words(content_text(m.get("content"))) for m in messages if isinstance(m, dict))
    answer = {
        "id": "chatcmpl-" + digest[:12],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request["model"],
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
    if tier is not None:
        answer["_metadata"] = {"model_tier": tier}
    return answer


def make_handler(config, private_key, public_pem):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "independent-nomyo-router/1.0"

        def log_message(self, *args):  # quiet: the tests read stdout
            pass

        def send(self, status, body, content_type="application/json"):
            data = body.encode("utf-8") if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            if status == 401:
                self.send_header("WWW-Authenticate", "Bearer")
            self.end_headers()
            self.wfile.write(data)

        def send_detail(self, status, detail):
            self.send(status, json.dumps({"detail": detail}))

        def read_body(self):
            length = self.headers.get("Content-Length")
            if length is None or not length.isdigit():
                self.close_connection = True
                raise Refused(411, "Content-Length required")
            if int(length) > MAX_BODY:
                self.close_connection = True
                raise Refused(413, "Request body too large")
            return self.rfile.read(int(length))

        def do_GET(self):
            if self.path == "/pki/public_key":
                self.send(200, public_pem, "text/plain; charset=utf-8")
            else:
                self.send_detail(404, "Not Found")

        def do_POST(self):
            try:
                body = self.read_body()
                if self.path != "/v1/chat/secure_completion":
                    raise Refused(404, "Not Found")
                self.send(200, json.dumps(self.complete(body)))
            except Refused as refused:
                self.send_detail(refused.status, refused.detail)

        def complete(self, body):
            h = self.headers
            if config.api_key is not None and h.get("Authorization") != "Bearer " + config.api_key:
                raise Refused(401, "Invalid API key")
            if (h.get("Content-Type") or "").split(";")[0].strip().lower() != "application/octet-stream":
                raise Refused(400, "Invalid Content-Type: expected application/octet-stream")
            payload_id = h.get("X-Payload-ID")
            if not payload_id:
                raise Refused(400, "Missing X-Payload-ID header")
            quoted = h.get("X-Public-Key")
            if not quoted:
                raise Refused(400, "Missing X-Public-Key header")
            try:
                client_key = serialization.load_pem_public_key(urllib.parse.unquote(quoted).encode("ascii"))
            except (ValueError, UnicodeEncodeError, TypeError):
                raise Refused(400, "Invalid X-Public-Key: not a PEM public key")
            if not isinstance(client_key, rsa.RSAPublicKey):
                raise Refused(400, "Invalid X-Public-Key: not an RSA public key")
            if client_key.key_size < 2048:
                raise Refused(400, "Invalid X-Public-Key: RSA key under 2048 bits")
            tier = h.get("X-Security-Tier")
            if tier is not None and tier not in TIERS:
                raise Refused(400, "Invalid X-Security-Tier: expected standard, high or maximum")
            if tier == "maximum" and not config.tpm:
                raise Refused(503, "Security tier maximum is unavailable: this router has no TPM")
            plaintext = open_request(body, private_key)
            try:
                request = json.loads(plaintext.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise Refused(400, "Invalid request: the payload is not UTF-8 JSON")
            answer = echo_completion(request, payload_id, tier)
            return seal(json.dumps(answer).encode("utf-8"), client_key)

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key-size", type=int, choices=(2048, 4096), default=2048)
    parser.add_argument("--api-key")
    parser.add_argument("--tpm", action="store_true")
    config = parser.parse_args()
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=config.key_size)
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
    server = ThreadingHTTPServer(("127.0.0.1", config.port), make_handler(config, private_key, public_pem))
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
