"""The background task that drains the outbox through SMTP. Its owner starts ``run`` and calls ``stop``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import smtplib
import ssl
from dataclasses import dataclass

from scheduler.mail.outbox import MailJob, Outbox

log = logging.getLogger(__name__)
IDLE_POLL_SECONDS = 30.0  # another process may queue mail; look now and then even when not woken


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    sender: str = "giaoban@localhost"
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 30.0


class MailSender:
    def __init__(self, outbox: Outbox, settings: SmtpSettings) -> None:
        self._outbox = outbox
        self._settings = settings
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        """Something was queued: look at once instead of at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            job = await self._outbox.claim()
            if job is not None:
                await self._send(job)
                continue
            wait = await self._outbox.next_due_in()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(IDLE_POLL_SECONDS, wait if wait is not None else 1e9))

    async def _send(self, job: MailJob) -> None:
        try:
            await asyncio.to_thread(self._deliver, job)
        except smtplib.SMTPRecipientsRefused as exc:
            log.warning("mail %s refused by the server: %s", job.id, exc.recipients)
            await self._outbox.failed(job, f"address refused: {job.to}", permanent=True)
        except (OSError, smtplib.SMTPException) as exc:
            log.info("mail %s not sent yet (%s); will retry", job.id, exc)
            await self._outbox.failed(job, str(exc) or type(exc).__name__)
        else:
            await self._outbox.delivered(job)

    def _deliver(self, job: MailJob) -> None:
        settings = self._settings
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.username:
                smtp.login(settings.username, settings.password)
            smtp.sendmail(settings.sender, [job.to], job.message.encode("utf-8"))
