from __future__ import annotations

from chalicelib.errors import ControllerError


class WebhookError(ControllerError):
    """A webhook delivery MaestrOps refuses; ``status`` and ``code`` go back to GitHub."""

    status = 400
    code = "bad_request"


class SignatureError(WebhookError):
    status = 401
    code = "invalid_signature"


class PayloadTooLargeError(WebhookError):
    status = 413
    code = "payload_too_large"


class MissingHeaderError(WebhookError):
    code = "missing_header"


class MalformedPayloadError(WebhookError):
    code = "malformed_payload"
