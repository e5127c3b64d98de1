"""The referral store behind the live chat's ``ReferralPort`` (``chat.live.referring``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from referral import codes as referral_codes
from referral import store as referral_store
from referral.directory import Directory

from .kernel.settings import Settings


class StoreReferrals:
    """The directory (cached) and the one-time codes, in the database."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.directory = referral_store.DirectoryCache(sessions)
        self.code_key = referral_codes.code_key(settings.secret)

    async def current(self) -> Directory:
        return await self.directory.current()

    async def recent(self) -> Directory:
        return await self.directory.recent()

    async def issue(self, service_ids: list[str]) -> list[referral_store.Issued]:
        return await referral_store.issue_codes(
            self.sessions, self.code_key, service_ids,
            issued_on=referral_store.today(self.settings.timezone),
            valid_days=self.settings.referral_code_days)

    async def withdraw(self, code_hashes: list[str]) -> None:
        await referral_store.withdraw_codes(self.sessions, code_hashes)

    async def purge(self) -> int:
        return await referral_store.purge(self.sessions, referral_store.today(self.settings.timezone))
