"""One way to reach the operator's SMTP server (COSTLAKE_SMTP_*), for alert notifications and digests alike."""

from __future__ import annotations

import smtplib
import ssl

from costlake.settings import Settings


def open_smtp(settings: Settings, timeout: float) -> smtplib.SMTP:
    """A connected, secured (COSTLAKE_SMTP_SECURITY) and logged-in client; the caller closes it (`with`)."""
    assert settings.smtp_host is not None, "callers check COSTLAKE_SMTP_HOST first, to say what to set"
    if settings.smtp_security == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    try:
        if settings.smtp_security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username and settings.smtp_password:
            smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
    except BaseException:
        smtp.close()
        raise
    return smtp
