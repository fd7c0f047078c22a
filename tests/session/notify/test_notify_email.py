"""Email through a real SMTP server (aiosmtpd) on 127.0.0.1: plain, AUTH, STARTTLS, SSL."""
from __future__ import annotations

import datetime as dt
import email
import ipaddress
import logging
import ssl
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from session.notify.channels import make_transport
from session.notify.config import NotificationsConfig
from session.notify.levels import AlertLevel
from session.notify.message import NotificationMessage
from session.notify.notifiers import EmailNotifier
from tests.fakes.ports import free_port

PASSWORD = "smtp-Pa55word-never-shown"

pytestmark = pytest.mark.usefixtures("isolated_redactor", "tradeday_logs_reach_caplog")


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage]] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def authenticator(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            self.logins.append((auth_data.login, auth_data.password))
            # handled=False: let aiosmtpd answer 235/535 itself (True means "already answered").
            return AuthResult(success=auth_data.password == PASSWORD.encode(), handled=False)
        return AuthResult(success=False, handled=False)


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, Inbox]]:
    inbox = Inbox()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=free_port(), authenticator=inbox.authenticator, auth_require_tls=False
    )
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


def _email_channel(port: int, **extra: Any):
    data = {"type": "email", "host": "127.0.0.1", "port": port, "security": "none",
            "from": "tradeday@desk.test", "to": ["trader@desk.test", "ops@desk.test"], **extra}
    return NotificationsConfig.model_validate({"channels": [data]}).channels[0]


def _message() -> NotificationMessage:
    return NotificationMessage(
        title="engine momentum gave up",
        message="exit code 3 after 5 restarts <see log>",
        level=AlertLevel.CRITICAL,
        metadata={"engine": "momentum", "restarts": 5},
        event="engine_fatal",
    )


def test_email_has_subject_with_level_and_title_and_both_parts(smtp: tuple[Controller, Inbox]) -> None:
    controller, inbox = smtp
    transport = make_transport(_email_channel(controller.port))
    outcome = transport.attempt(_message(), timeout=5)
    assert outcome.ok, outcome.error
    (mail_from, rcpts, mail), = inbox.messages
    assert mail_from == "tradeday@desk.test"
    assert rcpts == ["trader@desk.test", "ops@desk.test"]
    assert mail["Subject"] == "[tradeday CRITICAL] engine momentum gave up"
    assert mail.get_content_type() == "multipart/alternative"
    plain = mail.get_body(preferencelist=("plain",))
    rich = mail.get_body(preferencelist=("html",))
    assert plain is not None and rich is not None
    text, markup = plain.get_content(), rich.get_content()
    assert "exit code 3 after 5 restarts <see log>" in text and "restarts" in text
    assert "&lt;see log&gt;" in markup and "<see log>" not in markup  # escaped in HTML
    assert "<table" in markup and "momentum" in markup


def test_email_logs_in_with_username_and_password(smtp: tuple[Controller, Inbox]) -> None:
    controller, inbox = smtp
    transport = make_transport(_email_channel(controller.port, username="bot", password=PASSWORD))
    outcome = transport.attempt(_message(), timeout=5)
    assert outcome.ok, outcome.error
    assert inbox.logins == [(b"bot", PASSWORD.encode())]
    assert len(inbox.messages) == 1


def test_refused_login_is_permanent_and_never_shows_the_password(
    smtp: tuple[Controller, Inbox], caplog: pytest.LogCaptureFixture
) -> None:
    controller, inbox = smtp
    wrong = "wrong-" + PASSWORD
    caplog.set_level(logging.DEBUG)
    notifier = EmailNotifier(
        "127.0.0.1", controller.port, "bot", wrong, "tradeday@desk.test", ["trader@desk.test"],
        use_tls=False, max_attempts=3, backoff=0.01, timeout=3,
    )
    assert notifier.notify(_message()) is False
    # smtplib tries each offered mechanism (PLAIN, then LOGIN) once; no retry after that.
    assert inbox.messages == [] and len(inbox.logins) == 2
    assert "login refused" in notifier.last_error
    assert wrong not in notifier.last_error and wrong not in caplog.text


def test_connection_refused_is_retryable() -> None:
    transport = make_transport(_email_channel(free_port()))
    outcome = transport.attempt(_message(), timeout=2)
    assert not outcome.ok and outcome.retryable and "refused" in outcome.error


# ---------------------------------------------------------------- TLS
def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    crypto = pytest.importorskip("cryptography")
    del crypto
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _server_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


def test_starttls_with_a_private_ca(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    inbox = Inbox()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=free_port(), tls_context=_server_context(cert, key),
        require_starttls=True, authenticator=inbox.authenticator,
    )
    controller.start()
    try:
        channel = _email_channel(controller.port, security="starttls", ca_file=str(cert), username="bot", password=PASSWORD)
        outcome = make_transport(channel).attempt(_message(), timeout=5)
        assert outcome.ok, outcome.error
        assert len(inbox.messages) == 1 and inbox.logins == [(b"bot", PASSWORD.encode())]
        # Without the CA the certificate is refused, permanently.
        untrusted = _email_channel(controller.port, security="starttls")
        refused = make_transport(untrusted).attempt(_message(), timeout=5)
        assert not refused.ok and not refused.retryable and "certificate" in refused.error
    finally:
        controller.stop()


def test_implicit_ssl(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), ssl_context=_server_context(cert, key))
    controller.start()
    try:
        channel = _email_channel(controller.port, security="ssl", ca_file=str(cert))
        outcome = make_transport(channel).attempt(_message(), timeout=5)
        assert outcome.ok, outcome.error
        assert inbox.messages[0][2]["Subject"].startswith("[tradeday CRITICAL]")
    finally:
        controller.stop()
