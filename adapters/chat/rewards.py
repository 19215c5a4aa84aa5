"""Free credits and bonuses, written once: /daily (and its button under an offer), /refer,
/verify-email, /link, sharing a clip (a button that posts it, the platform's share picker, or
/share), and the offer's other buttons (continue with free, contact support)."""

from __future__ import annotations

from adapters.chat.actions import Action
from adapters.chat.catalogue import plural
from adapters.chat.commands import Command, Menu, Param
from adapters.chat.messages import Reply, Request, joined
from adapters.chat.offers import Offers
from adapters.chat.progress import ProgressChat
from adapters.chat.words import Words
from core.errors import BotError, UsageError
from core.services.email import EmailCodeSent, EmailVerificationService
from core.services.linking import LinkService
from core.services.referrals import ReferralService
from core.services.rewards import DailyClaimed, RewardService, ShareRewarded

REFERRAL_PREFIX = "ref_"


class RewardsChat:
    def __init__(
        self,
        words: Words,
        bonuses: RewardService,
        referrals: ReferralService,
        email: EmailVerificationService,
        linking: LinkService,
        offers: Offers,
        progress: ProgressChat | None = None,
    ) -> None:
        self.words = words
        self.progress = progress  # celebrates what a reward reached (a streak, a first share)
        self.bonuses = bonuses
        self.referrals = referrals
        self.email = email
        self.linking = linking
        self.offers = offers

    def commands(self) -> list[Command]:
        return [
            Command("daily", self.daily, menu=Menu.PRIVATE),
            Command("refer", self.refer, (Param("code", required=False),), menu=Menu.PRIVATE),
            Command(
                "verify-email",
                self.verify_email,
                (Param("address_or_code", required=False),),
                aliases=("verify",),
                menu=Menu.PRIVATE,
                slow=True,
            ),
            # Not greeted: someone linking a new account is not new, and gets no second welcome.
            Command("link", self.link, (Param("code", required=False),), greets=False),
            Command(
                "share", self.share, (Param("job", required=False),), where=lambda surface: surface.share_by_command
            ),
        ]

    # --- the daily credit -------------------------------------------------------------------

    async def daily(self, request: Request) -> Reply:
        """Claim today's free credit (and the packs, when the balance is still low)."""
        claimed = await self.bonuses.claim_daily(request.identity)
        text = joined(self._daily(request, claimed), await self._celebrated(request))
        return self.offers.with_offer(request, text, claimed.offer)

    async def press_daily(self, request: Request, action: Action) -> Reply:
        """ "Claim your free daily credit" under an offer."""
        claimed = await self.bonuses.claim_daily(request.identity)
        return Reply(joined(self._daily(request, claimed), await self._celebrated(request)), note=True, alert=True)

    async def _celebrated(self, request: Request) -> str:
        return await self.progress.after(request) if self.progress is not None else ""

    def _daily(self, request: Request, claimed: DailyClaimed) -> str:
        return self.words.t(
            request,
            "daily_claimed",
            amount=claimed.amount,
            plural=plural(claimed.amount),
            available=claimed.balance.available,
            next_at=claimed.next_at,
        )

    # --- the offer's other buttons -------------------------------------------------------------

    async def press_free(self, request: Request, action: Action) -> Reply:
        """ "Continue with free": the offer's buttons go away."""
        return Reply(self.words.t(request, "continue_free"), note=True, dismiss=True)

    async def press_support(self, request: Request, action: Action) -> Reply:
        """ "Contact support": how to write to us."""
        text = self.words.t(request, "support_how")
        return Reply(text, note=True, alert=True)

    # --- referrals ---------------------------------------------------------------------------

    async def refer(self, request: Request) -> Reply:
        """Your referral code (and link); `/refer <code>` joins with someone's code."""
        credits = self.referrals.rules.referral_credits
        code = request.arg("code").strip()
        if code:
            return Reply(await self.join(request, code))
        summary = await self.referrals.my_code(request.identity)
        text = self.words.t(
            request,
            "referral_code",
            code=summary.code,
            credits=credits,
            referred=summary.referred,
            rewarded=summary.rewarded,
        )
        invite = request.surface.invite_link
        link = self.words.t(request, "referral_link", link=invite(REFERRAL_PREFIX + summary.code)) if invite else ""
        return Reply(joined(text, link))

    async def join(self, request: Request, code: str) -> str:
        """Join with someone's code (`ref_<code>` too, as a start link carries it)."""
        record = await self.referrals.record_referral(request.identity, code.removeprefix(REFERRAL_PREFIX))
        key = "referral_already" if record.duplicate else "referral_recorded"
        return self.words.t(request, key, credits=self.referrals.rules.referral_credits)

    async def start_payload(self, request: Request, payload: str) -> str:
        """What a start link's payload says: a referral (a bad code never spoils the welcome)."""
        if not payload.startswith(REFERRAL_PREFIX):
            return ""
        try:
            return await self.join(request, payload)
        except BotError as error:
            return self.words.error(request, error)

    # --- email -----------------------------------------------------------------------------

    async def verify_email(self, request: Request) -> Reply:
        """Send a code to your address, then confirm it: +credits once."""
        text = request.arg("address_or_code").strip()
        if not text:
            raise UsageError("verify-email")
        result = await self.email.verify(request.identity, text)
        if isinstance(result, EmailCodeSent):
            return Reply(self.words.t(request, "email_code_sent", address=result.address, expires_at=result.expires_at))
        text = self.words.t(
            request, "email_verified", address=result.address, amount=result.granted, available=result.balance.available
        )
        return Reply(text)

    # --- linking ---------------------------------------------------------------------------

    async def link(self, request: Request) -> Reply:
        """A code to link your account on another platform, or `/link <code>` from it."""
        code = request.arg("code").strip()
        if not code:
            made = await self.linking.start(request.identity)
            text = self.words.t(request, "link_code", code=made.code, expires_at=made.expires_at)
            return Reply(text)
        result = await self.linking.redeem(request.identity, code)
        text = self.words.t(
            request, "link_done", identities=", ".join(result.identities), available=result.balance.available
        )
        if result.moved_free or result.moved_paid:
            text += self.words.t(request, "link_moved", free=result.moved_free, paid=result.moved_paid)
        return Reply(text)

    # --- sharing ---------------------------------------------------------------------------

    async def share(self, request: Request) -> Reply:
        """`/share <job>`: the share bonus for a clip shared by hand."""
        job_id = request.arg("job").strip()
        if not job_id:
            raise UsageError("share")
        return await self.shared(request, job_id)

    async def press_share(self, request: Request, action: Action) -> Reply:
        """The Share button where it posts the clip in the channel: the bonus (by the rules),
        then the clip for everyone."""
        shared = await self.bonuses.record_share(request.identity, action.arg(0))
        publish = self.words.t(request, "clip_shared", mention=request.mention)
        return Reply(joined(self._shared(request, shared), await self._celebrated(request)), publish=publish)

    async def shared(self, request: Request, job_id: str) -> Reply:
        """The clip was shared through the platform's own picker: the bonus, said privately."""
        shared = await self.bonuses.record_share(request.identity, job_id)
        return Reply(joined(self._shared(request, shared), await self._celebrated(request)))

    def _shared(self, request: Request, shared: ShareRewarded) -> str:
        if shared.granted:
            return self.words.t(request, "share_rewarded", amount=shared.granted, available=shared.balance.available)
        return self.words.t(request, "share_no_bonus", next_at=shared.next_at)
